"""An ensemble of pooled recurrent models (several `bench_best.py` runs, e.g. seeds), combined on validation.

Each member is a `bench_best.py` result JSON of a pooled candidate; its per-snapshot (or per-epoch) validation and
test predictions are read from `results/predictions/`. Only the snapshots up to epoch `--upto` are used, and the
member's training CPU seconds are counted up to that epoch (a run stopped there would have cost that much: the
learning rate of the epochs before it does not depend on how many epochs follow). The ensemble's P(positive) is the
mean over members of each member's average of the same run of consecutive snapshots; that run is chosen on
VALIDATION (ties: fewer snapshots, then the earlier run). Test is reported as measured, for every choice.

The result JSON has the shape `bench_hybrid.py --rnn-from` reads (one "run" whose chosen predictions are stored).

    python benchmarks/bench_ensemble.py --members benchmarks/results/best_pbl_sched.json \\
        benchmarks/results/best_pbl_sched_e2_s43.json --upto 2 --name pbl_sched_2seeds
"""
import json
from pathlib import Path
import numpy as np
from _common import RESULTS, ROOT, markdown, parser, save

NAME = "ensemble"
MAX_SNAPSHOTS = 4


def _acc(p, y): return float(((np.asarray(p) >= .5) == np.asarray(y)).mean())


def load_member(path, upto):
    "(labels, val (k, n), test (k, m), y_val, y_test, train CPU-s up to `upto`, run record) of one bench_best run."
    doc = json.loads(Path(path).read_text())
    (name, run), = doc["runs"].items()
    f = np.load(ROOT/"benchmarks"/"results"/"predictions"/Path(run["predictions_file"]).name)
    if "snapshot_labels" in f.files: labels, val, test = f["snapshot_labels"], f["snapshot_val"], f["snapshot_test"]
    else: labels, val, test = f["epochs"].astype(float), f["val"], f["test"]
    keep = labels <= upto + 1e-9
    labels, val, test = labels[keep], val[keep], test[keep]
    epochs = int(np.floor(upto))
    cpu = run["epoch_cpu_seconds"]
    if len(cpu) < epochs: raise SystemExit(f"{path}: trained {len(cpu)} epochs, fewer than --upto {upto}")
    # the mid-epoch snapshots' prediction time is inside the epochs' CPU seconds: remove the share of those kept
    all_labels = f["snapshot_labels"] if "snapshot_labels" in f.files else f["epochs"]
    mid_all = int(sum(1 for l in all_labels if l != int(l)))
    mid_kept = int(sum(1 for l in all_labels if l != int(l) and l < epochs))
    mid_cpu = run.get("mid_epoch_predict_cpu_seconds", 0.0) * (mid_kept / mid_all if mid_all else 0.0)
    train_cpu = float(sum(cpu[:epochs]) - mid_cpu)
    return dict(path=str(path), name=name, seed=doc["settings"]["seed"], labels=[float(l) for l in labels], val=val,
                test=test, y_val=f["y_val"], y_test=f["y_test"], train_cpu_seconds=train_cpu,
                train_wall_seconds=float(sum(run["epoch_seconds"][:epochs])), run=run)


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--members", nargs="+", required=True, help="bench_best.py result JSONs (pooled candidates)")
    p.add_argument("--upto", type=float, default=2.0, help="use each member's snapshots up to this epoch")
    p.add_argument("--name", default="ensemble", help="name of the ensemble (predictions file best_<name>.npz)")
    args = p.parse_args(argv)
    ms = [load_member(m, args.upto) for m in args.members]
    y_val, y_test = ms[0]["y_val"], ms[0]["y_test"]
    for m in ms[1:]:
        if m["labels"] != ms[0]["labels"] or (m["y_val"] != y_val).any() or (m["y_test"] != y_test).any():
            raise SystemExit(f"{m['path']}: other snapshots or other reviews than {ms[0]['path']}: members must share "
                             "the data, the split and the snapshot schedule")
    labels = ms[0]["labels"]
    rows, members = [], []
    for m in ms:  # each member alone, its snapshots (for the record)
        members.append({"path": m["path"], "name": m["name"], "seed": m["seed"], "train_cpu_seconds": m["train_cpu_seconds"],
                        "per_snapshot": [{"epoch": l, "val_accuracy": _acc(v, y_val), "test_accuracy": _acc(t, y_test)}
                                         for l, v, t in zip(labels, m["val"], m["test"])]})
    for i in range(len(labels)):
        for k in range(1, min(MAX_SNAPSHOTS, i + 1) + 1):
            pv = np.mean([m["val"][i - k + 1:i + 1].mean(0) for m in ms], axis=0)
            pt = np.mean([m["test"][i - k + 1:i + 1].mean(0) for m in ms], axis=0)
            span = f"{labels[i - k + 1]:g}-{labels[i]:g}" if k > 1 else f"{labels[i]:g}"
            rows.append({"snapshots": span, "count": k, "end": i, "val_accuracy": _acc(pv, y_val),
                         "test_accuracy": _acc(pt, y_test), "_pv": pv, "_pt": pt})
    best = max(rows, key=lambda r: (r["val_accuracy"], -r["count"], -r["end"]))
    cpu = sum(m["train_cpu_seconds"] for m in ms)
    wall = sum(m["train_wall_seconds"] for m in ms)
    print(f"members: {[(m['name'], m['seed'], round(m['train_cpu_seconds'])) for m in ms]}; snapshots {labels}")
    for m in members: print(f"  {m['name']} seed {m['seed']}: {m['per_snapshot']}")
    import pandas as pd
    table = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_") and k not in ("end",)} for r in rows])
    print(table.to_string(index=False))
    print(f"chosen on validation: snapshots {best['snapshots']} of {len(ms)} members: val {best['val_accuracy']:.4f}, "
          f"test {best['test_accuracy']:.4f}; training {cpu:.0f} CPU-s (sum of the members up to epoch {args.upto:g})")
    out = RESULTS/"predictions"/f"best_{args.name}{'_quick' if args.quick else ''}.npz"
    np.savez_compressed(out, val=np.array([best["_pv"]]), test=np.array([best["_pt"]]), epochs=np.array([1]),
                        y_val=y_val, y_test=y_test, chosen=np.array([1, 1]))
    md = markdown(table, {"val_accuracy": ".2%", "test_accuracy": ".2%"})
    r0 = ms[0]["run"]
    # one "run" in bench_best's shape, so that bench_hybrid.py --rnn-from can read it
    run = {"epoch_cpu_seconds": [m["train_cpu_seconds"] for m in ms], "mid_epoch_predict_cpu_seconds": 0.0,
           "epoch_seconds": [m["train_wall_seconds"] for m in ms], "backend": r0["backend"],
           "chosen": f"{best['snapshots']} prediction avg of {len(ms)} members", "chosen_epoch": 1, "chosen_last": 1,
           "build": r0["build"], "data": r0["data"], "train": dict(r0["train"], epochs=int(np.floor(args.upto))),
           "options": r0.get("options"), "predictions_file": str(out), "members": members}
    save(NAME, args, {"settings": {"seed": [m["seed"] for m in ms], "upto": args.upto, "max_snapshots": MAX_SNAPSHOTS},
                      "notes": "run.epoch_cpu_seconds: each member's training CPU seconds up to --upto (its mid-epoch "
                               "snapshot predictions removed); the ensemble's training cost is their sum. The run of "
                               "snapshots averaged (the same for every member) chosen on validation; test reported "
                               "for every choice, for the record.",
                      "chosen": best["snapshots"], "val_accuracy": best["val_accuracy"],
                      "test_accuracy": best["test_accuracy"], "train_cpu_seconds": cpu, "goal": 0.90,
                      "table": table.to_dict("records"), "markdown": md, "runs": {args.name: run}})


if __name__ == "__main__":
    main()
