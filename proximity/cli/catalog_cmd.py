"""``proximity catalog``: list, show, search, lint and import catalog entries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from proximity.catalog.loader import Catalog, load_catalog
from proximity.catalog.schema import CATEGORIES, CatalogEntry


@dataclass(frozen=True)
class _Options:
    extra_dirs: tuple[Path, ...]
    builtin: bool

    def load(self) -> Catalog:
        catalog = load_catalog(self.extra_dirs, builtin=self.builtin)
        for error in catalog.errors:
            click.echo(f"warning: {error.source}: {error}", err=True)
        return catalog


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _entry_json(entry: CatalogEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json", exclude_none=True)


def _table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@click.group()
@click.option(
    "--dir",
    "extra_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    envvar="PROXIMITY_CATALOG_DIRS",
    help="An extra catalog folder (repeatable). Later folders override earlier ones, entry by entry.",
)
@click.option("--no-builtin", is_flag=True, help="Leave out the catalog that ships with Proximity.")
@click.pass_context
def catalog(ctx: click.Context, extra_dirs: tuple[Path, ...], no_builtin: bool) -> None:
    """Browse, check and import the app catalog."""
    ctx.obj = _Options(extra_dirs, not no_builtin)


@catalog.command("list")
@click.option("--category", type=click.Choice(CATEGORIES), help="Only entries in this category.")
@click.option("--tag", help="Only entries with this tag.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@click.pass_obj
def list_entries(options: _Options, category: str | None, tag: str | None, as_json: bool) -> None:
    """List the catalog entries."""
    catalog_ = options.load()
    entries = [hit.entry for hit in catalog_.search("", category=category, tag=tag, limit=None)]
    if as_json:
        _print_json([_entry_json(entry) for entry in entries])
        return
    rows = []
    for entry in entries:
        source = catalog_.provenance(entry.id).source
        rows.append([entry.id, entry.name, entry.version, ",".join(entry.categories), source])
    _table(rows, ["ID", "NAME", "VERSION", "CATEGORIES", "SOURCE"])
    click.echo(f"{len(entries)} entries")


@catalog.command()
@click.argument("entry_id")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")
@click.pass_obj
def show(options: _Options, entry_id: str, as_json: bool) -> None:
    """Show one entry."""
    catalog_ = options.load()
    entry = catalog_.get(entry_id)
    if entry is None:
        suggestions = ", ".join(hit.entry.id for hit in catalog_.search(entry_id, limit=3))
        hint = f" Did you mean: {suggestions}?" if suggestions else ""
        raise click.ClickException(f"no catalog entry {entry_id!r}.{hint}")
    if as_json:
        _print_json(_entry_json(entry))
        return
    provenance = catalog_.provenance(entry.id)
    web = entry.web_port
    lines = [
        f"{entry.name} ({entry.id}) {entry.version}",
        entry.summary,
        "",
        f"categories: {', '.join(entry.categories)}",
        f"tags:       {', '.join(entry.tags) or '-'}",
        f"website:    {entry.website}",
        f"license:    {entry.license}",
        f"install:    {', '.join(method.type for method in entry.install)}",
        f"ports:      {', '.join(f'{p.name}={p.port}/{p.protocol}' for p in entry.ports) or '-'}",
        f"web UI:     {web.port if web else '-'}",
        f"volumes:    {', '.join(v.path for v in entry.volumes) or '-'}",
        f"resources:  {entry.resources.cores} cores, {entry.resources.memory_mb} MB, "
        f"{entry.resources.disk_gb} GB",
        f"source:     {provenance.source} ({provenance.path})",
    ]
    for override in catalog_.overrides:
        if override.id == entry.id:
            lines.append(f"overrides:  {override.replaced.source} ({override.replaced.path})")
    lines.extend(f"{note.level}: {note.text}" for note in entry.notes)
    click.echo("\n".join(lines))


def _parse_requires(values: tuple[str, ...]) -> dict[str, bool]:
    requires: dict[str, bool] = {}
    for value in values:
        key, sep, flag = value.partition("=")
        flag = flag.strip().lower() if sep else "true"
        if flag not in ("true", "false", "yes", "no", "1", "0"):
            raise click.BadParameter(f"{value!r}: use NAME=true or NAME=false", param_hint="--requires")
        requires[key.strip()] = flag in ("true", "yes", "1")
    return requires


@catalog.command()
@click.argument("query", default="")
@click.option("--category", type=click.Choice(CATEGORIES), help="Only entries in this category.")
@click.option("--tag", help="Only entries with this tag.")
@click.option(
    "--requires", multiple=True, metavar="NAME=BOOL", help="e.g. gpu=false, nesting=true (repeatable)."
)
@click.option("--install", "install_type", type=click.Choice(["oci", "compose", "script"]))
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@click.pass_obj
def search(
    options: _Options,
    query: str,
    category: str | None,
    tag: str | None,
    requires: tuple[str, ...],
    install_type: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Search the catalog (typo-tolerant, ranked)."""
    catalog_ = options.load()
    try:
        hits = catalog_.search(
            query,
            category=category,
            tag=tag,
            requires=_parse_requires(requires) or None,
            install=install_type,
            limit=limit,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        _print_json(
            [
                {
                    "id": h.entry.id,
                    "name": h.entry.name,
                    "score": h.score,
                    "summary": h.entry.summary,
                    "categories": list(h.entry.categories),
                    "matched": list(h.matched),
                }
                for h in hits
            ]
        )
        return
    if not hits:
        click.echo("no matches")
        return
    _table(
        [[h.entry.id, h.entry.name, f"{h.score:g}", h.entry.summary[:70]] for h in hits],
        ["ID", "NAME", "SCORE", "SUMMARY"],
    )


@catalog.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--errors-only", is_flag=True, help="Leave warnings out of the output.")
@click.pass_obj
def lint(options: _Options, paths: tuple[Path, ...], as_json: bool, errors_only: bool) -> None:
    """Flag weak entries. Lints PATH files/folders, or the loaded catalog. Exits 1 on errors."""
    from proximity.catalog.lint import has_errors, lint_catalog, lint_paths

    if paths:
        findings = lint_paths(list(paths))
    else:
        findings = lint_catalog(load_catalog(options.extra_dirs, builtin=options.builtin))
    shown = [f for f in findings if f.severity == "error"] if errors_only else findings
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if as_json:
        _print_json({"errors": errors, "warnings": warnings, "findings": [f.to_dict() for f in shown]})
    else:
        for finding in shown:
            click.echo(str(finding))
        failing = sorted({f.entry for f in findings if f.severity == "error"})
        click.echo(
            f"{errors} error(s), {warnings} warning(s); failing entries: {', '.join(failing) or 'none'}"
        )
    if has_errors(findings):
        raise SystemExit(1)


@catalog.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a catalog entry (for editors and other tools)."""
    _print_json(CatalogEntry.model_json_schema())


@catalog.command("import")
@click.option(
    "--from",
    "source_format",
    required=True,
    type=click.Choice(["helper-scripts", "portainer"]),
    help="The format of PATH.",
)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--into",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write one <id>.json per converted app into.",
)
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="helper-scripts: the metadata.json naming the categories (default: beside PATH).",
)
@click.option(
    "--stacks-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="portainer: local clones of the repositories that hold compose stacks.",
)
@click.option("--overwrite", is_flag=True, help="Replace files that already exist in --into.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the import report as JSON to this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
def import_catalog(
    source_format: str,
    path: Path,
    into: Path,
    metadata: Path | None,
    stacks_dir: Path | None,
    overwrite: bool,
    report_path: Path | None,
    as_json: bool,
) -> None:
    """Convert Helper-Scripts JSON or Portainer templates into catalog files."""
    from proximity.catalog.importers import ImportSourceError, write_entries
    from proximity.catalog.importers.helper_scripts import import_helper_scripts
    from proximity.catalog.importers.portainer import import_portainer

    try:
        if source_format == "helper-scripts":
            result = import_helper_scripts(path, metadata=metadata)
        else:
            result = import_portainer(path, stacks_dir=stacks_dir)
    except ImportSourceError as exc:
        raise click.ClickException(str(exc)) from exc
    write_entries(result, into, overwrite=overwrite)
    report = result.report()
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if as_json:
        _print_json(report)
        return
    for item in report["converted"]:
        click.echo(f"converted {item['reference']} -> {item['path']}")
        for lossy in item["lossy"]:
            click.echo(f"    lossy: {lossy}")
    for skip in report["skipped"]:
        click.echo(f"skipped {skip['reference']} ({skip['name']}): {skip['reason']}")
    for ignored in report["ignored_files"]:
        click.echo(f"ignored {ignored}")
    assumed = sum(len(item["assumed"]) for item in report["converted"])
    click.echo(f"{len(report['converted'])} converted, {len(report['skipped'])} skipped; written into {into}")
    if assumed:
        click.echo(f"{assumed} assumption(s) made where the source is silent: see --json or --report")
