"""The ``colbert-edge`` command: a thin skin over the library.

Each command parses its arguments, calls one library function, prints. Library errors
(:class:`ColbertEdgeError`) become one line on stderr and exit status 2; ``--debug`` re-raises with
the traceback. Heavy imports happen inside the command that needs them, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from colbert_edge.errors import ColbertEdgeError

__all__ = ["main"]


def _cmd_export(args: argparse.Namespace) -> int:
    from colbert_edge.export import export_model

    log = (lambda msg: print(msg, file=sys.stderr)) if not args.quiet else None
    report = export_model(args.source, args.out, precision=args.precision, revision=args.revision, log=log)
    summary = {
        "bundle": str(report.bundle),
        "precision": report.manifest.precision,
        "dim": report.manifest.dim,
        "fingerprint": report.manifest.fingerprint,
        "model_bytes": report.model_bytes,
        "seconds": round(report.seconds, 1),
        "parity": report.manifest.parity,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {report.bundle} ({report.manifest.precision}, dim {report.manifest.dim}, "
              f"{report.model_bytes / 1e6:.1f} MB) in {report.seconds:.1f} s")
        print(f"fp32 vs PyTorch: max abs diff {report.fp32.max_abs_diff:.2e}")
        if report.int8 is not None:
            print(f"int8 vs PyTorch fp32: mean cosine {report.int8.mean_cosine:.4f}, worst {report.int8.min_cosine:.4f}, "
                  f"top-10 agreement {report.int8.top10_agreement:.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colbert-edge", description="On-device multilingual ColBERT search.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of errors")
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="export a PyLate ColBERT model to a verified ONNX bundle")
    export.add_argument("source", help="model folder (PyLate layout) or hub id")
    export.add_argument("--out", required=True, help="bundle folder to write")
    export.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    export.add_argument("--revision", default=None, help="hub revision (with a hub id)")
    export.add_argument("--json", action="store_true", help="print the report as JSON")
    export.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    export.set_defaults(run=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ColbertEdgeError as exc:
        if args.debug:
            raise
        print(f"colbert-edge: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("colbert-edge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
