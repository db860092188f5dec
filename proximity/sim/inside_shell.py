"""The shell-like commands of a simulated container: files, ``echo``, ``test``, ``env``, ``sh -c`` sequences.

A mixin of ``ContainerInside``: every ``_cmd_<name>`` receives the arguments after the program name, the
standard input and the environment, and returns an ``Output``. Nothing is ever run by a real shell.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable

from proximity.sim.inside_docker import Output
from proximity.sim.inside_fs import FsError, VirtualFs, normalize


class ShellCommands:
    """Uses ``wait``, ``_run``, ``_resolve`` and ``_script`` of ``ContainerInside``."""

    fs: VirtualFs
    hostname: str
    ip: str | None
    wait: Callable[[float], None]
    _run: Callable[[list[str], bytes, dict[str, str]], Output]
    _resolve: Callable[[str], str | None]
    _script: Callable[[str, list[str]], Output]

    # basic commands ------------------------------------------------------------------------------------
    def _cmd_true(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        return Output()

    def _cmd_false(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        return Output(rc=1)

    def _cmd_echo(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        newline = True
        if args and args[0] == "-n":
            newline, args = False, args[1:]
        return Output(stdout=[(" ".join(args) + ("\n" if newline else "")).encode()])

    def _cmd_pwd(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        return Output(stdout=["/root"])

    def _cmd_whoami(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        return Output(stdout=["root"])

    def _cmd_id(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        if args in (["-u"], ["-g"]):
            return Output(stdout=["0"])
        return Output(stdout=["uid=0(root) gid=0(root) groups=0(root)"])

    def _cmd_hostname(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        if args == ["-I"]:
            return Output(stdout=[f"{self.ip} "])
        return Output(stdout=[self.hostname])

    def _cmd_uname(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        fields = {"-s": "Linux", "-n": self.hostname, "-r": "6.17.2-1-pve", "-m": "x86_64", "-o": "GNU/Linux"}
        if not args:
            return Output(stdout=["Linux"])
        if args == ["-a"]:
            return Output(
                stdout=[
                    f"Linux {self.hostname} 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 x86_64 GNU/Linux"
                ]
            )
        bad = [a for a in args if a not in fields]
        if bad:
            return Output().fail(
                f"uname: invalid option -- '{bad[0].lstrip('-')}'\nTry 'uname --help' for more information."
            )
        return Output(stdout=[" ".join(fields[a] for a in args)])

    def _cmd_sleep(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        try:
            seconds = float(args[0].rstrip("s"))
        except (IndexError, ValueError):
            return Output().fail(
                "sleep: missing operand" if not args else f"sleep: invalid time interval '{args[0]}'"
            )
        self.wait(seconds)
        return Output()

    def _cmd_cat(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        paths = [a for a in args if not a.startswith("-") or a == "-"] or ["-"]
        out = Output()
        chunks: list[bytes] = []
        for path in paths:
            if path == "-":
                chunks.append(stdin)
                continue
            try:
                chunks.append(self.fs.read(normalize(path)))
            except FsError as error:
                out.fail(f"cat: {path}: {error.reason}")
        out.stdout.append(b"".join(chunks))
        return out

    def _cmd_tee(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        append = any(a in ("-a", "--append") for a in args)
        out = Output()
        for path in [a for a in args if not a.startswith("-")]:
            try:
                self.fs.write(normalize(path), stdin, append=append)
            except FsError as error:
                out.fail(f"tee: {path}: {error.reason}")
        out.stdout.append(stdin)
        return out

    def _cmd_mkdir(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        parents = any(a in ("-p", "--parents") for a in args)
        mode = 0o755
        paths = []
        i = 0
        while i < len(args):
            if args[i] in ("-m", "--mode") and i + 1 < len(args):
                mode = int(args[i + 1], 8)
                i += 2
                continue
            if not args[i].startswith("-"):
                paths.append(args[i])
            i += 1
        out = Output()
        if not paths:
            return out.fail("mkdir: missing operand\nTry 'mkdir --help' for more information.")
        for path in paths:
            try:
                self.fs.mkdir(normalize(path), parents=parents, mode=mode)
            except FsError as error:
                out.fail(f"mkdir: cannot create directory ‘{path}’: {error.reason}")
        return out

    def _cmd_rm(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        flags = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
        force = "f" in flags or "--force" in args
        recursive = "r" in flags or "R" in flags or "--recursive" in args
        out = Output()
        paths = [a for a in args if not a.startswith("-")]
        if not paths and not force:
            return out.fail("rm: missing operand\nTry 'rm --help' for more information.")
        for path in paths:
            target = normalize(path)
            if target == "/":
                out.fail(
                    "rm: it is dangerous to operate recursively on '/'\n"
                    "rm: use --no-preserve-root to override this failsafe"
                )
                continue
            try:
                self.fs.remove(target, recursive=recursive)
            except FsError as error:
                if force and error.reason == "No such file or directory":
                    continue
                out.fail(f"rm: cannot remove '{path}': {error.reason}")
        return out

    def _cmd_chmod(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        operands = [a for a in args if not a.startswith("-") or re.fullmatch(r"-[rwxXst]+", a)]
        if len(operands) < 2:
            return Output().fail(
                f"chmod: missing operand after ‘{operands[0]}’" if operands else "chmod: missing operand"
            )
        spec, paths = operands[0], operands[1:]
        out = Output()
        for path in paths:
            target = normalize(path)
            try:
                current = self.fs.mode(target)
            except FsError:
                out.fail(f"chmod: cannot access '{path}': No such file or directory")
                continue
            mode = _chmod_mode(spec, current)
            if mode is None:
                return Output().fail(f"chmod: invalid mode: ‘{spec}’")
            self.fs.chmod(target, mode)
        return out

    def _cmd_test(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        if len(args) == 1:
            return Output(rc=0 if args[0] else 1)
        if len(args) == 2:
            flag, raw = args
            path = normalize(raw)
            checks = {
                "-e": self.fs.exists(path),
                "-f": self.fs.is_file(path),
                "-d": self.fs.is_dir(path),
                "-s": self.fs.is_file(path) and bool(self.fs.files[path].data),
                "-x": self.fs.exists(path) and bool(self.fs.mode(path) & 0o111),
                "-r": self.fs.exists(path),
                "-w": self.fs.exists(path),
                "-n": bool(raw),
                "-z": not raw,
            }
            if flag not in checks:
                return Output().fail(f"test: {flag}: unary operator expected", 2)
            return Output(rc=0 if checks[flag] else 1)
        if len(args) == 3 and args[1] in ("=", "==", "!="):
            equal = args[0] == args[2]
            return Output(rc=0 if equal == (args[1] != "!=") else 1)
        return Output().fail("test: too many arguments", 2)

    def _cmd_bracket(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        if not args or args[-1] != "]":
            return Output().fail("[: missing `]'", 2)
        return self._cmd_test(args[:-1], stdin, env)

    def _cmd_ls(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        show_all = any(a.startswith("-") and "a" in a for a in args)
        long = any(a.startswith("-") and "l" in a for a in args)
        paths = [a for a in args if not a.startswith("-")] or ["."]
        out = Output()
        for path in paths:
            target = normalize(path)
            try:
                names = self.fs.children(target)
            except FsError:
                out.fail(f"ls: cannot access '{path}': No such file or directory", 2)
                continue
            if len(paths) > 1:
                out.out(f"{path}:")
            if show_all and self.fs.is_dir(target):
                names = [".", "..", *names]
            for name in names:
                if not long:
                    out.out(name)
                    continue
                full = target if self.fs.is_file(target) else posixpath.join(target, name)
                full = normalize(full)
                kind = "d" if self.fs.is_dir(full) else "-"
                mode = self.fs.mode(full) if self.fs.exists(full) else 0o755
                size = len(self.fs.files[full].data) if self.fs.is_file(full) else 4096
                out.out(f"{kind}{_mode_text(mode)} 1 root root {size:>8} {name}")
        return out

    def _cmd_env(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        child = dict(env)
        rest = list(args)
        while rest:
            if rest[0] in ("-i", "--ignore-environment"):
                child = {}
            elif rest[0] in ("-u", "--unset") and len(rest) > 1:
                child.pop(rest[1], None)
                rest = rest[1:]
            elif rest[0].startswith("-u"):
                child.pop(rest[0][2:], None)
            elif "=" in rest[0] and not rest[0].startswith("="):
                key, _, value = rest[0].partition("=")
                child[key] = value
            else:
                break
            rest = rest[1:]
        if not rest:
            return Output(stdout=[f"{k}={v}" for k, v in child.items()])
        if self._resolve(rest[0]) is None and "/" not in rest[0]:
            return Output().fail(f"env: ‘{rest[0]}’: No such file or directory", 127)
        return self._run(rest, stdin, child)

    def _cmd_sh(self, args: list[str], stdin: bytes, env: dict[str, str], shell: str = "sh") -> Output:
        if not args:
            return Output().fail(f"proximity-sim: interactive {shell} is not simulated", 2)
        if args[0] != "-c":
            path = normalize(args[0])
            if not self.fs.is_file(path):
                if shell == "sh":
                    return Output().fail(f"sh: 0: cannot open {args[0]}: No such file", 2)
                return Output().fail(f"{shell}: {args[0]}: No such file or directory", 127)
            return self._script(path, args[1:])
        if len(args) < 2:
            return Output().fail(f"{shell}: -c: option requires an argument", 2)
        commands, error = split_sequence(args[1])
        if error:
            return Output().fail(f"proximity-sim: {shell} -c: {error}", 2)
        combined = Output()
        rc = 0
        for argv, operator in commands:
            if not argv or (operator == "&&" and rc != 0) or (operator == "||" and rc == 0):
                continue  # a skipped command leaves the status as it was, as in sh
            if self._resolve(argv[0]) is None and "/" not in argv[0]:
                message = (
                    f"sh: 1: {argv[0]}: not found"
                    if shell == "sh"
                    else f"{shell}: line 1: {argv[0]}: command not found"
                )
                result = Output().fail(message, 127)
            else:
                result = self._run(argv, stdin, env)
            combined.stdout.extend(result.stdout)
            combined.stderr.extend(result.stderr)
            rc = result.rc
        combined.rc = rc
        return combined

    def _cmd_bash(self, args: list[str], stdin: bytes, env: dict[str, str]) -> Output:
        return self._cmd_sh(args, stdin, env, shell="bash")


def split_sequence(command: str) -> tuple[list[tuple[list[str], str]], str | None]:
    """Split ``a && b; c || d`` into argvs, each with the operator before it (";" for the first one).

    Anything fancier (pipes, redirections, substitutions, variables) is refused, never evaluated."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as error:
        return [], f"cannot parse: {error}"
    sequence: list[tuple[list[str], str]] = []
    current: list[str] = []
    operator = ";"
    for token in tokens:
        if token in (";", "&&", "||"):
            sequence.append((current, operator))
            current, operator = [], token
        elif (
            token
            and set(token) <= set(";&|<>()")
            or any(ch in token for ch in "`$")
            or token.startswith(("<", ">"))
        ):
            return [], f"only simple commands joined by '&&', '||' or ';' are simulated (found {token!r})"
        else:
            current.append(token)
    sequence.append((current, operator))
    return sequence, None


def _chmod_mode(spec: str, current: int) -> int | None:
    if re.fullmatch(r"[0-7]{1,4}", spec):
        return int(spec, 8)
    mode = current
    for clause in spec.split(","):
        match = re.fullmatch(r"([ugoa]*)([+=-])([rwx]*)", clause)
        if not match:
            return None
        who, op, perms = match.groups()
        who = who or "a"
        bits = 0
        for target, shift in (("u", 6), ("g", 3), ("o", 0)):
            if "a" in who or target in who:
                for perm, value in (("r", 4), ("w", 2), ("x", 1)):
                    if perm in perms:
                        bits |= value << shift
        if op == "+":
            mode |= bits
        elif op == "-":
            mode &= ~bits
        else:
            mask = sum(
                7 << shift for target, shift in (("u", 6), ("g", 3), ("o", 0)) if "a" in who or target in who
            )
            mode = (mode & ~mask) | bits
    return mode


def _mode_text(mode: int) -> str:
    return "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
