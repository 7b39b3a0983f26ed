"""Clustering drawings: the offline drawing CNN + k-means against k-means on raw rasters, on drawings mixed with distractors.

    python benchmarks/clustering.py                       # 3 synthetic mixes of 1200 drawings, and the real mix
    python benchmarks/clustering.py --seeds 0 --n 480     # a quick look

1. Synthetic mixes (`synth.synth_mix`, one per --seeds): drawings of every family of `synth.FAMILIES` and, for --share of
   them, the distractors of `synth.DISTRACTORS` (handwriting, ruled notes, fragments, hatching), each kind in equal numbers:
   12 kinds in all.
2. Ours: the offline drawing CNN (`clustering.train_drawing_cnn`, the default `DrawingCnnConfig` with the mix's seed)
   trained self-supervised on the mix itself (no labels); the drawings embedded by it (`embed_drawings`, no cache);
   k-means (`cluster_drawings`) with each k of --ks, and with the k its silhouette sweep (2 to --k-max) suggests.
   Floor, same run, same drawings: k-means (10 inits) on the raw 48-pixel rasters (`display.rasterize_batch`, pen 1 px)
   after PCA to --pca dimensions, with each k of --ks.
3. Measured for each: purity (each cluster counted as its majority kind), and what excluding the clusters whose majority
   is a distractor does (what a person does after a look at the galleries): the share of the distractors removed and the
   share of the good drawings lost. Time per 1,000 drawings (CPU seconds of this process and wall clock, torch --threads):
   training the CNN, embedding, k-means.
4. The real mix (when shared/data/look_train.npz is there): the artist's 1,300 drawings as one kind, 'real', plus
   --real-distractors synthetic distractors: 5 kinds. The real drawings carry no labels, and some of them are themselves
   pages of handwriting, hatching or fragments: they count as 'real' here, so the purity and the loss measured on this
   mix are lower bounds of what they would be against a person's labels.

Prints a table and writes benchmarks/results/clustering.json.
"""
import argparse, json, os, sys, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('SINGLELINE_QUIET', '1')

import torch
from singleline.synth import synth_mix, DISTRACTORS
from singleline.display import rasterize_batch
from singleline.embeddings import EmbedConfig
from singleline.clustering import DrawingCnnConfig, train_drawing_cnn, embed_drawings, cluster_drawings, majority_include


def scores(assign, labels, bad) -> dict:
    "Purity, and the distractors removed / good drawings lost when the clusters whose majority is a distractor go."
    labels, bad, assign = np.asarray(labels), np.asarray(bad, bool), np.asarray(assign)
    k = int(assign.max()) + 1
    major = sum(np.unique(labels[assign == c], return_counts=True)[1].max() for c in range(k) if (assign == c).any())
    keep = np.asarray(majority_include(assign, ~bad, k))[assign]
    return dict(purity=float(major / len(labels)), removed=float((~keep & bad).sum() / max(bad.sum(), 1)),
                lost=float((~keep & ~bad).sum() / max((~bad).sum(), 1)))


class Clock:
    "Wall-clock and CPU seconds of a block."
    def __enter__(self): self.w, self.c = time.perf_counter(), time.process_time(); return self
    def __exit__(self, *a): self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def floor(drawings, labels, bad, ks, dims, seed) -> list:
    "k-means on raw 48-pixel rasters after PCA, for each k."
    from sklearn.decomposition import PCA
    from sklearn.cluster import KMeans
    with Clock() as t:
        X = (255 - rasterize_batch(drawings, 48, 1.)).reshape(len(drawings), -1).astype(np.float32) / 255
        Z = PCA(dims, random_state=seed).fit_transform(X)
    rows = []
    for k in ks:
        with Clock() as tk: a = KMeans(k, n_init=10, random_state=seed).fit_predict(Z)
        rows.append(dict(method=f'k-means on 48-px rasters, PCA {dims}', k=k, **scores(a, labels, bad), cpu_s=t.cpu + tk.cpu, wall_s=t.wall + tk.wall))
    return rows


def ours(drawings, labels, bad, a, seed) -> list:
    "Train the drawing CNN on the drawings, embed them, k-means with each k of --ks and with the sweep's suggested k."
    with Clock() as tt: cnn = train_drawing_cnn(drawings, DrawingCnnConfig(seed=seed, device='cpu'))
    with Clock() as te: emb = embed_drawings(drawings, cnn, EmbedConfig(cache=False, batch_size=256))
    rows = []
    for k in a.ks:
        with Clock() as tk: cl = cluster_drawings(emb, k, [k], seed)
        rows.append(dict(method='drawing CNN (SimCLR) + k-means', k=k, **scores(cl.assignments, labels, bad),
                         train_cpu_s=tt.cpu, embed_cpu_s=te.cpu, kmeans_cpu_s=tk.cpu, cpu_s=tt.cpu + te.cpu + tk.cpu,
                         wall_s=tt.wall + te.wall + tk.wall))
    sweep = cluster_drawings(emb, None, range(2, a.k_max + 1), seed)
    rows.append(dict(method="drawing CNN + k-means, suggested k", k=sweep.k, **scores(sweep.assignments, labels, bad),
                     sweep={str(k): s for k, s in sweep.sweep.items()}))
    return rows


def run_mix(name, seed, drawings, labels, a) -> dict:
    bad = np.isin(labels, DISTRACTORS)
    rows = ours(drawings, labels, bad, a, seed) + floor(drawings, labels, bad, a.ks, a.pca, seed)
    return dict(mix=name, seed=seed, drawings=len(drawings), distractors=int(bad.sum()),
                kinds={str(k): int(v) for k, v in zip(*np.unique(labels, return_counts=True))}, rows=rows)


def table(report:dict) -> list:
    "The benchmark's table, as lines, from its JSON report (`args` and `results`)."
    r = report['results']
    lines = [f"torch threads {r['threads']}; mean over the mixes (seeds), the worst in brackets; "
             "targets: purity ≥ 0.95, distractors removed ≥ 95 %, good drawings lost ≤ 5 %"]
    hdr = f"{'mix':<30} {'method':<38} {'k':>8} {'purity':>14} {'removed':>15} {'lost':>13} {'CPU s / 1000':>13}"
    lines += [hdr, '-' * len(hdr)]
    groups = {}
    for m in r['mixes']:
        for row in m['rows']:
            key = (m['mix'], row['method'], row['k'] if 'suggested' not in row['method'] else 'sugg.')
            groups.setdefault(key, []).append((m, row))
    for (mix, method, k), items in groups.items():
        p, rm, lo = ([x[1][f] for x in items] for f in ('purity', 'removed', 'lost'))
        ks = '/'.join(str(x[1]['k']) for x in items) if k == 'sugg.' else str(k)
        per = np.mean([x[1]['cpu_s'] / x[0]['drawings'] * 1000 for x in items]) if 'cpu_s' in items[0][1] else None
        lines.append(f"{mix:<30} {method:<38} {ks:>8} {np.mean(p):6.3f} ({min(p):.3f}) {np.mean(rm):6.1%} ({min(rm):5.1%}) "
                     f"{np.mean(lo):5.1%} ({max(lo):4.1%}) {'' if per is None else f'{per:13.1f}'}")
    for m in r['mixes']:
        o = m['rows'][0]
        n = m['drawings'] / 1000
        lines.append(f"{m['mix']} (seed {m['seed']}): {m['drawings']} drawings, {m['distractors']} distractors; CPU s per 1000 drawings: "
                     f"training {o['train_cpu_s'] / n:.0f}, embedding {o['embed_cpu_s'] / n:.1f}, k-means {o['kmeans_cpu_s'] / n:.1f}; "
                     f"wall {o['wall_s'] / n:.0f} s per 1000")
    lines.append(f"wall time {r['wall_s'] / 60:.0f} min")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1200, help="drawings in each synthetic mix")
    ap.add_argument('--share', type=float, default=0.25, help="fraction of distractors in the synthetic mixes")
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help="one synthetic mix (and CNN, and k-means) per seed")
    ap.add_argument('--ks', type=int, nargs='+', default=[12, 16], help="numbers of clusters (ours and the floor)")
    ap.add_argument('--k-max', type=int, default=24, help="largest k of our silhouette sweep")
    ap.add_argument('--pca', type=int, default=50, help="PCA dimensions of the floor's rasters")
    ap.add_argument('--real-distractors', type=int, default=400, help="synthetic distractors added to the real drawings (0: no real mix)")
    ap.add_argument('--threads', type=int, default=1, help="torch threads")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    mixes = []
    for seed in a.seeds:
        drawings, labels = synth_mix(a.n, seed=seed, share=a.share)
        mixes.append(run_mix(f'synthetic, {a.share:.0%} distractors', seed, drawings, labels, a))
        print('\n'.join(table(dict(results=dict(mixes=mixes[-1:], threads=a.threads, wall_s=time.perf_counter() - t0)))), flush=True)
    from singleline.data import find_shared_data, load_npz
    shared = find_shared_data()
    if shared is not None and a.real_distractors > 0:
        real = load_npz(shared, 'train')['train']
        dis, dlab = synth_mix(a.real_distractors, seed=1000, share=1)
        order = np.random.default_rng(0).permutation(len(real) + len(dis))
        pool, plab = list(real) + dis, ['real'] * len(real) + dlab
        mixes.append(run_mix('real + synthetic distractors', a.seeds[0], [pool[i] for i in order], [plab[i] for i in order], a))
    elif shared is None: print("shared/data/look_train.npz not found: the real mix is skipped")
    from readme import machine
    report = dict(args=vars(a), machine=machine(), results=dict(mixes=mixes, threads=a.threads, wall_s=time.perf_counter() - t0))
    print('\n'.join(table(report)))
    out = ROOT / 'benchmarks' / 'results' / 'clustering.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == '__main__': main()
