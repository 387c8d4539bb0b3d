"""``colbert-edge demo``: the main job end to end — export, index the shipped samples, search.

1. export ``model`` (hub id or local folder) to ``WORKDIR/bundle`` unless a bundle is already there
   (offline with a hub id, the export fails at once and says to pass ``--model LOCAL_FOLDER``);
2. index ``samples/notes`` and ``samples/mail`` into ``WORKDIR/demo.db`` (incremental);
3. run a few multilingual queries (cross-lingual among them) and yield the result lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from colbert_edge.engine import Engine
from colbert_edge.errors import InvalidArgument

__all__ = ["DEMO_QUERIES", "run_demo", "default_samples"]

DEMO_QUERIES = (
    "what is our home wifi password?",
    "¿A qué hora sale mi vuelo a Lisboa?",
    "cheese noodles with fried onions",
    "Wann läuft mein Mietvertrag aus?",
    "我的包裹什么时候送到？",
    "京都の旅館のチェックインは何時？",
)


def default_samples() -> Path:
    """The repository's ``samples/`` folder (present in a source checkout)."""
    return Path(__file__).resolve().parents[1] / "samples"


def run_demo(model: str, workdir: str | Path, *, samples: str | Path | None = None,
             queries: Sequence[str] | None = None, precision: str = "int8", k: int = 3) -> Iterator[str]:
    """Run the main job; yields human-readable lines."""
    work = Path(workdir)
    root = Path(samples) if samples is not None else default_samples()
    folders = [p for p in (root / "notes", root / "mail") if p.exists()] or [root]
    if not root.exists():
        raise InvalidArgument(f"samples folder {str(root)!r} does not exist; pass --samples FOLDER")
    bundle = work / "bundle"
    if not (bundle / "manifest.json").is_file():
        from colbert_edge.export import export_model

        yield f"exporting {model} -> {bundle} ({precision}) ..."
        report = export_model(model, bundle, precision=precision)
        yield f"exported in {report.seconds:.1f} s, {report.model_bytes / 1e6:.1f} MB"
    with Engine.open(work / "demo.db", bundle=bundle) as engine:
        report = engine.index_paths(folders)
        yield (f"indexed {report.sources} notes and mails from {root} ({report.encoded} encoded, "
               f"{report.passages} passages, {len(report.skipped)} skipped) in {report.seconds:.1f} s")
        for query in queries or DEMO_QUERIES:
            yield f"\n? {query}"
            for rank, result in enumerate(engine.search(query, k=k), 1):
                yield f"  {rank}. {result.score:6.2f}  {result.title}  ({result.kind}: {Path(result.path).name})"
