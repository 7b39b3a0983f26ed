"""Long-range structure: conditional SketchRNN (the paper's widths and HParams' defaults) against the Sketchformer, continuous and tokenised.

    python benchmarks/long_range.py [--out DIR] [--threads 2] [--temperature 0.1]

The four models are trained by `benchmarks/converge.py` on the same data (the shared drawings joined and split as
`singleline prepare` does, cut 85 / 7.5 / 7.5 %, N_max 250), each early-stopped on its validation loss, one torch thread
each, with other trainings sharing the 2-core machine:

    python benchmarks/converge.py --mode conditional --hparams '{"dec_rnn_size": 512, "enc_rnn_size": 256}' --out DIR   # SketchRNN, paper size (VAE)
    python benchmarks/converge.py --mode conditional --tag paper256 --out DIR                 # SketchRNN, HParams' default widths (look-vae)
    python benchmarks/converge.py --mode conditional --model sketchformer --out DIR           # continuous, paper size
    python benchmarks/converge.py --mode conditional --model sketchformer-tokens --out DIR    # tokens (1,000), paper size

This script reads their best checkpoints (DIR/<run>/best.pt) and their evaluation (benchmarks/results/converge_*.json:
the realism of reconstructions, by `singleline.evaluate`), and measures on the test drawings:
- reconstruction: every test drawing encoded (z = mu) and drawn again at --temperature, with seeds 0 .. --seeds - 1 (each
  figure below is the mean over the seeds, with their standard deviation), timed;
- chamfer distance between each drawing's points and its reconstruction's (absolute positions, canvas units), averaged
  over all test drawings, and over the last third of the points of the long ones (> 150 points);
- whether a reconstruction is its own drawing: how often its original is the nearest test drawing to it, or among the
  five nearest, in the drawing CNN's space (DIR/drawing_cnn.pt; `singleline.evaluate.retrieval_accuracy`);
- late drift, the long-range alignment score: the reconstruction translated so that the centroid of its first third of
  points lands on the original's, then the chamfer distance between the last thirds. It asks whether the features drawn
  late (the lips after the eyes) land where the input put them relative to the features drawn early, whatever the
  offset accumulated on the way; in canvas units and as a share of the drawing's diagonal;
- the validation loss by position and the training time per step (from the runs' logs).

Writes benchmarks/results/long_range.json and, for the sketchformer notebook, nbs/images/long_range_reconstructions.png
(the longest test drawings reconstructed by each model) and nbs/images/sketchformer_attention.png (the continuous model's
pooling weights and last-layer attention over a drawing); prints a table, and what `singleline tokenize` says on the same data.
"""
import argparse, json, os, sys, time, io, contextlib
from pathlib import Path
import numpy as np

RESULTS = Path(__file__).parent / 'results'
FIGURES = Path(__file__).parents[1] / 'nbs' / 'images'           # the sketchformer notebook shows them
MODELS = {'SketchRNN': ('conditional', 'converge_conditional.json'),
          'SketchRNN 256': ('conditional_paper256', 'converge_conditional_paper256.json'),
          'Sketchformer': ('sketchformer_conditional', 'converge_sketchformer_conditional.json'),
          'Sketchformer tokens': ('sketchformer-tokens_conditional', 'converge_sketchformer-tokens_conditional.json')}
LONG = 150


def chamfer(a, b) -> float:
    "Symmetric chamfer distance between point sets a (n, 2) and b (m, 2): the mean distance to the nearest point of the other set, both ways, averaged."
    if len(a) == 0 or len(b) == 0: return float('nan')
    D = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    return float((D.min(1).mean() + D.min(0).mean()) / 2)


def long_range_scores(original, drawn) -> dict:
    "Chamfer overall; for a long drawing, chamfer of the last thirds and the late drift (last thirds after aligning the first thirds' centroids)."
    from singleline.core import deltas_to_points
    P, R = deltas_to_points(original)[:, :2], deltas_to_points(drawn)[:, :2] if len(drawn) else np.zeros((0, 2))
    out = dict(chamfer=chamfer(P, R))
    if len(P) > LONG and len(R) >= 3:
        n, m = len(P) // 3, len(R) // 3
        late_P, late_R = P[len(P) - n:], R[len(R) - m:]
        shift = P[:n].mean(0) - R[:m].mean(0)
        diag = float(np.hypot(*(P.max(0) - P.min(0))))
        out.update(last_third=chamfer(late_P, late_R), late_drift=chamfer(late_P, late_R + shift), diagonal=diag)
    elif len(P) > LONG: out.update(last_third=float('nan'), late_drift=float('nan'), diagonal=float(np.hypot(*(P.max(0) - P.min(0)))))
    return out


def attention_figure(model, drawing, scale, path):
    "The continuous Sketchformer's pooling weights over a drawing's points, and its last encoder layer's attention (heads averaged)."
    import torch, matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from singleline.data import collate_stroke5
    from singleline.core import deltas_to_points
    d = np.asarray(drawing, np.float64)
    S5, lengths = collate_stroke5([d * [1 / scale, 1 / scale, 1]], model.hp.max_seq_len)
    maps, a = model.encoder_attention(S5, lengths)
    n = len(d)
    w = a[0, 1:n + 1].numpy()                                          # the points' weights (step 0 is the start token)
    P = deltas_to_points(d)[:, :2]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    ax = axes[0]
    for i in range(1, n):
        if d[i - 1, 2] != 1: ax.plot(P[i - 1:i + 1, 0], -P[i - 1:i + 1, 1], color='0.8', lw=1, zorder=1)
    sc = ax.scatter(P[:, 0], -P[:, 1], c=w, s=8 + 300 * w / w.max(), cmap='viridis', zorder=2)
    ax.set_aspect('equal'); ax.axis('off'); ax.set_title(f'bottleneck pooling weights over {n} points', fontsize=9)
    fig.colorbar(sc, ax=ax, fraction=0.04)
    m = maps[-1][0].mean(0)[:n + 1, :n + 1].numpy()
    im = axes[1].imshow(m, cmap='magma', vmax=np.quantile(m, 0.995))
    axes[1].set_title('last encoder layer: attention (mean of heads)', fontsize=9)
    axes[1].set_xlabel('key: point', fontsize=8); axes[1].set_ylabel('query: point', fontsize=8)
    fig.colorbar(im, ax=axes[1], fraction=0.04)
    fig.tight_layout(); fig.savefig(path, dpi=80); plt.close(fig)


def reconstructions_figure(originals, drawn: dict, path):
    import matplotlib; matplotlib.use('Agg')
    from singleline.display import plot_grid
    cols = ['original'] + list(drawn)
    ds, titles = [], []
    for i, d in enumerate(originals):
        for c in cols:
            x = d if c == 'original' else drawn[c][i]
            ds.append(x if len(x) >= 2 else np.zeros((2, 3))); titles.append(f'{c} ({len(x)})' if i == 0 else f'{len(x)} points')
    fig = plot_grid(ds, ncols=len(cols), titles=titles, size=1.9)
    fig.savefig(path, dpi=72)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='/work/runs/converge', help="converge.py's --out folder holding the runs and look_drawings.npz")
    p.add_argument('--threads', type=int, default=2, help='torch threads for reconstruction (default 2)')
    p.add_argument('--temperature', type=float, default=0.1, help='temperature of the reconstructions (default 0.1)')
    p.add_argument('--seeds', type=int, default=3, help='reconstructions drawn with seeds 0 .. N-1; their figures averaged, the spread beside (default 3)')
    p.add_argument('--n-show', type=int, default=6, help='long drawings shown reconstructed side by side (default 6)')
    a = p.parse_args()
    import torch
    from singleline.train import load_run
    from singleline.data import load_npz
    from singleline.sketch_rnn import reconstruct
    from singleline.sketchformer import tokenize_command
    from singleline.evaluate import retrieval_accuracy
    from singleline.clustering import load_drawing_cnn
    sys.path.insert(0, str(Path(__file__).parent))
    from converge import curves
    from readme import machine
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    data = out / 'look_drawings.npz'
    test = [np.asarray(d, np.float64) for d in load_npz(data)['test'] if len(d) <= 250]
    long_idx = [i for i, d in enumerate(test) if len(d) > LONG]
    cnn = load_drawing_cnn(out / 'drawing_cnn.pt')
    embed = lambda ds: cnn.encode_drawings(ds).numpy()
    results, drawn = {}, {}
    for name, (run, report) in MODELS.items():
        rp = RESULTS / report
        if not (out / run / 'best.pt').exists() or not rp.exists(): sys.exit(f"{name}: train it first ({out / run} and {rp})")
        model, ck = load_run(out / run / 'best.pt')
        ev = json.loads(rp.read_text())['results']['conditional']
        if ev['evaluation'].get('step') != ck['step']:                 # the realism and test losses below are the result file's
            sys.exit(f"{name}: {out / run / 'best.pt'} is at step {ck['step']}, {rp.name} evaluated step {ev['evaluation'].get('step')}: let the run finish (or --reevaluate it) first")
        per_seed, seconds = [], []
        for seed in range(a.seeds):                                # the same drawings reconstructed with other noise
            t0 = time.perf_counter()
            rec = reconstruct(model, test, ck['scale'], temperature=a.temperature, seed=seed)
            seconds.append(time.perf_counter() - t0)
            if seed == 0: drawn[name] = rec
            scores = [long_range_scores(d, r) for d, r in zip(test, rec)]
            longs = [scores[i] for i in long_idx]
            per_seed.append(dict(chamfer=float(np.nanmean([s['chamfer'] for s in scores])),
                                 last_third=float(np.nanmean([s['last_third'] for s in longs])), late_drift=float(np.nanmean([s['late_drift'] for s in longs])),
                                 late_drift_share=float(np.nanmean([s['late_drift'] / s['diagonal'] for s in longs])),
                                 **retrieval_accuracy(test, rec, embed),
                                 recon_points_median=float(np.median([len(r) for r in rec])), recon_ended=float(np.mean([len(r) < 250 for r in rec])),
                                 reconstruct_points=int(sum(len(r) for r in rec))))
        figures = {k: float(np.mean([f[k] for f in per_seed])) for k in per_seed[0]}
        spread = {k: float(np.std([f[k] for f in per_seed], ddof=1)) if a.seeds > 1 else 0. for k in per_seed[0]}
        c = curves(out / run)
        best = min(c['valid'], key=lambda v: v['L_R'])
        rec_real = ev['evaluation']['reconstructions']
        results[name] = dict(
            run=str(out / run), step=ck['step'], parameters=sum(p.numel() for p in model.parameters()),
            steps=ev['steps'], minutes=ev['minutes'], stopped=ev['stopped'], best_step=best['step'], best_valid_L_R=best['L_R'],
            minutes_per_100_steps=100 * ev['minutes'] / max(ev['steps'], 1),
            test_losses=ev['evaluation']['losses'], loss_unit='token cross-entropy (nats per token)' if 'tokens' in name else 'L_R (nats, SketchRNN units)',
            reconstruct_s=float(np.mean(seconds)), **figures, spread=spread, per_seed=per_seed,
            realism={t: dict(c2st=v['c2st'], frechet=v['frechet']) for t, v in rec_real.items()},
            reference=ev['evaluation']['reference'])
        if name == 'Sketchformer':
            attention_figure(model, test[long_idx[0]], ck['scale'], FIGURES / 'sketchformer_attention.png')
    order = sorted(long_idx, key=lambda i: -len(test[i]))[:a.n_show]
    reconstructions_figure([test[i] for i in order], {k: [v[i] for i in order] for k, v in drawn.items()}, FIGURES / 'long_range_reconstructions.png')
    with contextlib.redirect_stdout(io.StringIO()) as tok_out:
        tokenize_command([str(data), '--vocab', '1000', '--out', str(out / 'tok.npz')])
    tokens_said = tok_out.getvalue().replace(str(out / 'tok.npz'), 'tok.npz')
    report = dict(args=vars(a), machine=machine(), data=str(data), test_drawings=len(test), long_drawings=len(long_idx), results=results, tokenize=tokens_said)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'long_range.json').write_text(json.dumps(report, indent=1))
    print('\n'.join(table(report)))


def table(report: dict) -> list:
    res = report['results']
    names = list(res)
    row = lambda label, f: f"{label:44}" + ''.join(f"{f(res[n]):>20}" for n in names)
    fmt = lambda x, d=2: '-' if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{d}f}"
    seeds = report['args'].get('seeds', 1)
    msd = lambda k, d=2: lambda r: fmt(r[k], d) + (f"±{r['spread'][k]:.{d}f}" if seeds > 1 else '')   # mean±sd over the seeds
    lines = [f"Long-range structure on {report['test_drawings']} test drawings ({report['long_drawings']} longer than {LONG} points); "
             f"reconstructions at temperature {report['args']['temperature']}" + (f", mean±sd over {seeds} seeds" if seeds > 1 else ''),
             f"{'':44}" + ''.join(f"{n:>20}" for n in names),
             row('parameters', lambda r: f"{r['parameters']:,}"),
             row('steps to the best validation loss', lambda r: str(r['best_step'])),
             row('minutes per 100 steps (shared machine)', lambda r: fmt(r['minutes_per_100_steps'], 1)),
             row('best validation loss', lambda r: fmt(r['best_valid_L_R'], 3)),
             row('test loss (tokens: nats per token)', lambda r: fmt(r['test_losses'].get('L_R'), 3))]
    for b in ('1-25', '26-50', '51-100', '101-200', '201-400'):
        lines.append(row(f'  per-point loss, points {b}', lambda r, b=b: fmt(r['test_losses']['by_position'].get(b, {}).get('offset_nll', float('nan')) + r['test_losses']['by_position'].get(b, {}).get('pen_ce', 0.), 3)))
    lines += [row('reconstruction chamfer, all (canvas units)', msd('chamfer')),
              row(f'  last third of long drawings', msd('last_third')),
              row('late drift, long drawings (canvas units)', msd('late_drift')),
              row('  as a share of the diagonal', msd('late_drift_share', 3)),
              row(f"finds its own drawing: nearest (chance {1 / report['test_drawings']:.3f})", msd('found_top1', 3)),
              row(f"  among the nearest 5 (chance {5 / report['test_drawings']:.3f})", msd('found_top5', 3)),
              row('reconstructions: median points', lambda r: fmt(r['recon_points_median'], 0)),
              row('reconstruct the test set (s)', lambda r: fmt(r['reconstruct_s'], 1))]
    for t in ('0.1', '0.5', '1.0'):
        lines.append(row(f'reconstructions C2ST at tau {t} (real 0.5)', lambda r, t=t: fmt(r['realism'].get(t, {}).get('c2st'))))
    lines.append(row('lowest reconstruction Fréchet distance', lambda r: fmt(min(v['frechet'] for v in r['realism'].values() if v['frechet'] is not None), 3)))
    lines.append(row('  real vs real', lambda r: fmt(r['reference']['frechet'], 3)))
    return lines + ['', 'singleline tokenize on the same drawings:'] + report.get('tokenize', '').splitlines()


if __name__ == '__main__':
    main()
