"""Benchmark: augmenting a batch of 100 real drawings, against one SketchRNN training step on CPU.

Run from the repository root: `python benchmarks/augment.py [--repeats 20] [--steps 2]`.
Prints a table and writes benchmarks/results/augment.json.

Measured, on the same batch of 100 real drawings (shared/data/look_train.npz, those of at most
200 points, chosen with seed 0):
  - singleline.augment.make_augment() (default AugmentConfig), one generator per drawing as in DrawingDataset;
  - the same pipeline with every step always on (upper bound);
  - only SketchRNN's own augmentation (random scale 0.15, point dropping 0.1), the like-for-like peer comparison;
  - the whole DataLoader item path: DrawingDataset.__getitem__ (augment, scale) + collate_stroke5;
  - peer: the original project's SketchRNN-style augmentation (singleline_models.dataset.random_scale
    + augment_strokes, a Python loop per point) from /work/peers/slm, when present;
  - one SketchRNN training step (forward, loss, backward, optimiser step) at the paper's size
    (`HParams.paper()`), batch 100, max_seq_len 200, on CPU, when singleline.sketch_rnn exists.
The target: augmenting the batch costs at most 5 % of one training step.
"""
import sys, json, time, argparse, importlib.util, platform, os
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('SINGLELINE_QUIET', '1')

from singleline.data import find_shared_data, load_npz, DrawingDataset, collate_stroke5
from singleline.augment import make_augment, AugmentConfig

def timeit(fn, repeats:int, warmup:int=2) -> dict:
    for _ in range(warmup): fn()
    ts, cpu = [], []
    for _ in range(repeats):
        c = time.process_time(); t = time.perf_counter(); fn()
        ts.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    # wall-clock time, and CPU time of this process (all its threads): the latter is steadier on a shared machine
    return {'median_s': float(np.median(ts)), 'min_s': float(np.min(ts)), 'cpu_median_s': float(np.median(cpu)), 'repeats': repeats}

def sketch_rnn_step(batch, steps:int) -> dict | None:
    "Time of one paper-size SketchRNN training step on CPU; None when the module is absent."
    if importlib.util.find_spec('singleline.sketch_rnn') is None: return None
    import torch
    from singleline.sketch_rnn import SketchRNN, HParams
    from singleline.train import keep_freed_memory
    keep_freed_memory()                                                 # as the trainer does on a CPU
    hp = HParams.paper(batch_size=len(batch), max_seq_len=max(200, max(len(d) for d in batch)))   # the paper's widths, as measured
    torch.manual_seed(0)
    model = SketchRNN(hp).train()
    opt, sched = model.configure_optimizers()
    ds = DrawingDataset(batch, max_len=hp.max_seq_len)                  # the real batch, scaled, no augmentation
    S5, lengths = collate_stroke5([ds[i] for i in range(len(ds))], hp.max_seq_len)   # (B, N_max + 1, 5), (B,)
    state = {'step': 0}
    def train_step():
        out = model((S5, lengths), state['step'])
        opt.zero_grad(set_to_none=True)
        out['loss'].backward()
        if hp.grad_clip: torch.nn.utils.clip_grad_norm_(model.parameters(), hp.grad_clip)
        opt.step(); sched.step(); state['step'] += 1
    r = timeit(train_step, steps, warmup=0)     # a step takes seconds to minutes on CPU: no warm-up needed
    r['config'] = {k: getattr(hp, k) for k in ('enc_rnn_size', 'dec_rnn_size', 'z_size', 'num_mixture', 'batch_size', 'max_seq_len')}
    return r

def table(report:dict) -> list:
    "The benchmark's table, as lines, from its JSON report (`args` and `results`)."
    a, r = argparse.Namespace(**report['args']), report['results']
    rows = r['rows']
    aug_s = rows['augment (default config)']['median_s']
    lines = [f"batch: {r['batch']} real drawings of at most {r['max_len']} points ({r['points']} points in all); torch threads: "
             f"{r['torch_threads']}; {r['processor']}, {r['cpus']} CPUs",
             f"{'what':62s} {'median ms':>10s} {'min ms':>9s} {'CPU ms':>9s} {'× default augment':>18s}"]
    for k, v in rows.items():
        lines.append(f"{k:62s} {v['median_s'] * 1e3:10.2f} {v['min_s'] * 1e3:9.2f} {v['cpu_median_s'] * 1e3:9.2f} {v['median_s'] / aug_s:18.2f}")
    if 'augment_over_step' in r:
        ratio, cpu_ratio = r['augment_over_step'], r['augment_over_step_cpu']
        lines.append(f"augmentation / training step = {ratio * 100:.3f} % wall-clock, {cpu_ratio * 100:.3f} % CPU time "
                     f"(target ≤ 5 %): {'met' if max(ratio, cpu_ratio) <= 0.05 else 'NOT met'}")
    elif a.steps <= 0: lines.append("SketchRNN step: skipped (--steps 0)")
    else: lines.append("SketchRNN step: singleline.sketch_rnn not available yet, ratio pending")
    return lines

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=20, help="timed repetitions of the augmentation")
    ap.add_argument('--steps', type=int, default=2, help="timed SketchRNN training steps (0: skip the step)")
    ap.add_argument('--batch', type=int, default=100)
    ap.add_argument('--max-len', type=int, default=200)
    a = ap.parse_args()
    path = find_shared_data()
    if path is None: sys.exit("benchmarks/augment.py: shared/data/look_train.npz not found (set SINGLELINE_SHARED)")
    drawings = [d for d in load_npz(path)['train'] if len(d) <= a.max_len]
    pick = np.random.default_rng(0).choice(len(drawings), a.batch, replace=False)
    batch = [drawings[i] for i in pick]
    points = int(sum(len(d) for d in batch))

    rows = {}
    default = make_augment()
    state = {'epoch': 0}
    def run(aug):
        def f():
            state['epoch'] += 1
            return [aug(d, np.random.default_rng([0, state['epoch'], i])) for i, d in enumerate(batch)]
        return f
    rows['augment (default config)'] = timeit(run(default), a.repeats)
    always = make_augment(AugmentConfig(scale_p=1, rotate_p=1, shear_p=1, flip_p=1, drop_p=1, jitter_p=1, reverse_p=1, shuffle_p=1))
    rows['augment (every step always on)'] = timeit(run(always), a.repeats)
    paper = make_augment(AugmentConfig(rotate_p=0, shear_p=0, flip_p=0, jitter_p=0, reverse_p=0, shuffle_p=0))
    rows["augment (SketchRNN's: scale 0.15 + drop 0.1 only)"] = timeit(run(paper), a.repeats)
    ds = DrawingDataset(batch, max_len=a.max_len, augment=default, seed=0)
    def item_path():
        ds.set_epoch(ds.epoch + 1)
        return collate_stroke5([ds[i] for i in range(len(ds))], a.max_len)
    rows['DrawingDataset items + collate_stroke5'] = timeit(item_path, a.repeats)

    peer = Path('/work/peers/slm')
    if (peer / 'singleline_models' / 'dataset.py').exists():
        sys.path.insert(0, str(peer))
        from singleline_models.dataset import random_scale, augment_strokes
        np.random.seed(0)
        rows['peer: singleline_models random_scale + augment_strokes(0.1)'] = timeit(
            lambda: [augment_strokes(random_scale(d.astype(np.float32), 0.15), 0.1) for d in batch], a.repeats)

    step = sketch_rnn_step(batch, a.steps) if a.steps > 0 else None
    if step is not None: rows['SketchRNN training step (CPU, paper size)'] = step

    result = {'batch': a.batch, 'max_len': a.max_len, 'points': points, 'torch_threads': __import__('torch').get_num_threads(),
              'processor': platform.processor() or platform.machine(), 'cpus': os.cpu_count(), 'rows': rows}
    if step is not None:
        result['augment_over_step'] = rows['augment (default config)']['median_s'] / step['median_s']
        result['augment_over_step_cpu'] = rows['augment (default config)']['cpu_median_s'] / step['cpu_median_s']
    from readme import machine
    report = dict(args=vars(a), machine=machine(), results=result)
    print('\n'.join(table(report)))
    out = ROOT / 'benchmarks' / 'results' / 'augment.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out.relative_to(ROOT)}")

if __name__ == '__main__': main()
