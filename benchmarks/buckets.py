"""Length buckets against the paper's fixed N_max: the time of a training step of each model on the artist's drawings.

    python benchmarks/buckets.py [--steps 8] [--threads 1] [--models sketchformer sketchformer-tokens sketchrnn]

Data: the shared drawings joined and split as `singleline prepare` makes them (`converge.prepare_data`; the training
split, drawings of at most N_max = 250 points). For each model at its paper size (batch 100, bfloat16 products on the
CPU, as `converge.py` trains them) the script times `Trainer.train_step` over the first --steps batches of an epoch (the first half, then the second)
with `TrainConfig(bucket_by_length=False)` (every batch padded to N_max, the paper's way) and with
`bucket_by_length=True` (`train.length_buckets`: batches of similar length, each cut one row after its longest drawing),
alternating the two so that the shared machine's load falls on both alike. It reports the mean rows per batch, seconds
per step and the ratio. A cut batch has the same offset loss and the pen loss of the rows it keeps,
over the same N_max (70_sketchformer tests it); only speed is measured here.

Writes benchmarks/results/buckets.json and prints a table.
"""
import argparse, json, os, sys, time, tempfile
from pathlib import Path
import numpy as np

RESULTS = Path(__file__).parent / 'results'


def time_steps(model: str, data: Path, bucket: bool, first: int, steps: int, threads: int) -> dict:
    "Seconds of `steps` training steps of a fresh paper-size `model` on batches `first`, `first + 1`, ... of the first epoch, and the rows of each batch."
    from singleline.train import make_trainer
    with tempfile.TemporaryDirectory() as tmp:
        paper = dict(enc_rnn_size=256, dec_rnn_size=512) if model == 'sketchrnn' else {}   # SketchRNN's defaults are narrower
        t = make_trainer(data, Path(tmp) / 'run', model, dict(conditional=True, max_seq_len=250, **paper),
                         dict(steps=steps, valid_every=0, log_every=0, save_every=0, sample_every=0, cpu_bf16=True, threads=threads,
                              progress=False, tensorboard=False, seed=0, bucket_by_length=bucket), callbacks=False)
        t.batch_in_epoch = first
        seconds, rows, it = [], [], t.batches()
        for _ in range(steps):
            batch = next(it)
            t0 = time.perf_counter(); t.train_step(batch); seconds.append(time.perf_counter() - t0)
            rows.append(int(batch[0].shape[1]))
    return dict(seconds=seconds, rows=rows)


def table(report: dict) -> list:
    lines = [f"A training step, batch 100, on {report['n_train']} training drawings (median {report['median_points']:.0f} points), "
             f"first {report['args']['steps']} batches of an epoch, {report['args']['threads']} thread(s)",
             f"{'model':22}{'rows, N_max':>13}{'rows, buckets':>15}{'s/step, N_max':>15}{'s/step, buckets':>17}{'speed-up':>10}"]
    for name, r in report['results'].items():
        a, b = r['fixed'], r['buckets']
        lines.append(f"{name:22}{np.mean(a['rows']):>13.0f}{np.mean(b['rows']):>15.0f}{np.mean(a['seconds']):>15.2f}"
                     f"{np.mean(b['seconds']):>17.2f}{np.mean(a['seconds']) / np.mean(b['seconds']):>9.2f}×")
    lines.append("rows: stroke-5 rows per batch (start token included); times are means over the batches; the speed-up is their ratio")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=8, help='training steps timed per model and setting (default 8)')
    p.add_argument('--threads', type=int, default=1, help='torch threads (default 1)')
    p.add_argument('--models', nargs='+', default=['sketchformer', 'sketchformer-tokens', 'sketchrnn'], help='the models timed')
    p.add_argument('--out', default=None, help='folder for the prepared drawings (default: a temporary folder)')
    a = p.parse_args()
    os.environ.setdefault('SINGLELINE_QUIET', '1')
    import torch
    torch.set_num_threads(a.threads)
    sys.path.insert(0, str(Path(__file__).parent))
    from converge import prepare_data
    from readme import machine
    from singleline.data import load_npz
    out = Path(a.out or tempfile.mkdtemp()); out.mkdir(parents=True, exist_ok=True)
    data = prepare_data(out)
    lengths = [len(d) for d in load_npz(data)['train'] if len(d) <= 250]
    results = {}
    for model in a.models:
        runs = {'fixed': dict(seconds=[], rows=[]), 'buckets': dict(seconds=[], rows=[])}
        for half in range(2):                                     # alternate: fixed, buckets, buckets, fixed
            for key in (('fixed', 'buckets') if half == 0 else ('buckets', 'fixed')):
                r = time_steps(model, data, key == 'buckets', half * (a.steps // 2), a.steps // 2 if half == 0 else a.steps - a.steps // 2, a.threads)
                runs[key]['seconds'] += r['seconds']; runs[key]['rows'] += r['rows']
        results[model] = runs
        print(f"{model}: {np.mean(runs['fixed']['seconds']):.2f} s/step at N_max, {np.mean(runs['buckets']['seconds']):.2f} in buckets", flush=True)
    report = dict(args=vars(a), machine=machine(), n_train=len(lengths), median_points=float(np.median(lengths)), results=results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'buckets.json').write_text(json.dumps(report, indent=1))
    print('\n'.join(table(report)))
    print(f"wrote {RESULTS / 'buckets.json'}")


if __name__ == '__main__':
    main()
