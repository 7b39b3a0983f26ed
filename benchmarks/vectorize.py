"""Vectorisation benchmark: both backends side by side on simulated scans of the artist's real drawings.

Renders N shared drawings (look_train.npz) into JPEG scans with `singleline.synth.scan_drawings` (ground truth known),
traces every page with each backend (each backend in its own process, so peak memory is its own), normalises trace and
truth to the 200 canvas with the same transform (the truth's box), and reports: mean symmetric chamfer distance,
precision / recall / F1 of points within 2 px (both sampled every ~1 px), strokes per drawing, seconds per page and peak
memory (the tracing process's peak RSS; timings are wall-clock per page, one process, so they
depend on the machine's load: compare the backends within one run). Run: python benchmarks/vectorize.py [--n 50]   (writes benchmarks/results/vectorize.json)
"""
from __future__ import annotations
import argparse, json, os, sys, time, resource, platform
import multiprocessing as mp
from pathlib import Path
import numpy as np
from scipy.spatial import cKDTree

from singleline.core import CANVAS, deltas_to_strokes   # light: the tracing processes re-import this module (spawn)

TARGETS = {'f1': 0.95, 'chamfer': 1.0}

def _trace_pages(args):
    "Child process: trace every page with one backend; per page strokes and seconds, plus the process's peak memory."
    backend, files = args
    from singleline.vectorize import vectorize
    vectorize(files[0], backend)                                   # warm up imports and caches (not timed)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = []
    for f in files:
        t = time.perf_counter()
        strokes = vectorize(f, backend)
        out.append(([s.tolist() for s in strokes], time.perf_counter() - t))
    return out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, base_rss / 1024

def resample(strokes, step=1.0):
    "Points about `step` apart along every stroke (single points kept)."
    out = []
    for s in strokes:
        s = np.asarray(s, float).reshape(-1, 2)
        if len(s) == 0: continue
        L = np.r_[0, np.cumsum(np.hypot(*np.diff(s, axis=0).T))]
        n = max(int(np.ceil(L[-1] / step)) + 1, 1)
        t = np.linspace(0, L[-1], n)
        out.append(np.column_stack([np.interp(t, L, s[:, 0]), np.interp(t, L, s[:, 1])]))
    return np.vstack(out) if out else np.zeros((0, 2))

def score(trace, truth, box, tol=2.0):
    "Chamfer and precision/recall/F1 within `tol` on the 200 canvas (the truth box's transform applied to both)."
    x0, y0, x1, y1 = box
    s = CANVAS / max(x1 - x0, y1 - y0)
    to_canvas = lambda strokes: [(np.asarray(q, float) - [x0, y0]) * s for q in strokes]
    T = resample(to_canvas(truth)); P = resample(to_canvas(trace))
    if len(P) == 0: return dict(chamfer=float('nan'), precision=0., recall=0., f1=0., f1_1px=0.)
    d_pt = cKDTree(T).query(P)[0]; d_tp = cKDTree(P).query(T)[0]
    p, r = (d_pt <= tol).mean(), (d_tp <= tol).mean()
    p1, r1 = (d_pt <= 1).mean(), (d_tp <= 1).mean()
    return dict(chamfer=(d_pt.mean() + d_tp.mean()) / 2, precision=p, recall=r, f1=2 * p * r / (p + r) if p + r else 0.,
                f1_1px=2 * p1 * r1 / (p1 + r1) if p1 + r1 else 0.)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=50, help='drawings (one per page), spread evenly over look_train')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--scans', default='/tmp/singleline_bench_vectorize', help='folder for the simulated scans (reused when present)')
    ap.add_argument('--backends', nargs='+', default=['skeleton', 'autotrace'])
    a = ap.parse_args(argv)
    from singleline.data import find_shared_data, load_npz   # heavy imports (torch) stay out of the tracing processes
    from singleline import synth
    look = find_shared_data('look_train.npz')
    if look is None: sys.exit('shared data look_train.npz not found')
    drawings = load_npz(look, 'train')['train']
    idx = np.linspace(0, len(drawings) - 1, a.n).round().astype(int)
    scans = Path(a.scans) / f'n{a.n}_seed{a.seed}'
    if (scans / 'truth.json').exists(): truth = synth.load_truth(scans)
    else:
        t = time.perf_counter()
        truth = synth.scan_drawings([drawings[i] for i in idx], scans, seed=a.seed, progress=False)
        print(f'rendered {len(truth["pages"])} scans in {time.perf_counter() - t:.0f} s → {scans}')
    pages = truth['pages']
    files = [str(scans / p['file']) for p in pages]
    results = {}
    for b in a.backends:
        with mp.get_context('spawn').Pool(1) as pool:
            traced, peak_mb, base_mb = pool.map(_trace_pages, [(b, files)])[0]
        rows = []
        for page, (strokes, secs) in zip(pages, traced):
            dr = page['drawings'][0]
            m = score(strokes, deltas_to_strokes(np.asarray(dr['deltas'], float)), dr['box'])
            m.update(strokes=len(strokes), truth_strokes=int(np.asarray(dr['deltas'])[:, 2].sum()), seconds=secs)
            rows.append(m)
        agg = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        agg.update(min_f1=float(min(r['f1'] for r in rows)), max_chamfer=float(np.nanmax([r['chamfer'] for r in rows])),
                   peak_rss_mb=peak_mb, rss_after_warmup_mb=base_mb, pages=len(rows))
        results[b] = dict(summary=agg, pages=rows)
    # table
    cols = [('chamfer', 'chamfer px', '{:.3f}'), ('precision', 'P@2px', '{:.4f}'), ('recall', 'R@2px', '{:.4f}'), ('f1', 'F1@2px', '{:.4f}'),
            ('min_f1', 'min F1', '{:.3f}'), ('f1_1px', 'F1@1px', '{:.4f}'), ('strokes', 'strokes/drawing', '{:.1f}'),
            ('truth_strokes', 'truth strokes', '{:.1f}'), ('seconds', 's/page', '{:.2f}'), ('peak_rss_mb', 'peak RSS MB', '{:.0f}'),
            ('rss_after_warmup_mb', 'RSS after 1st page MB', '{:.0f}')]
    print(f'\n{len(pages)} pages {pages[0]["width"]}×{pages[0]["height"]}, one real drawing each (look_train), pen {np.mean([p["pen_width"] for p in pages]):.1f} px; '
          f'metrics on the 200 canvas\n')
    print('| backend | ' + ' | '.join(c[1] for c in cols) + ' |')
    print('|---' * (len(cols) + 1) + '|')
    for b, r in results.items():
        print(f'| {b} | ' + ' | '.join(f.format(r['summary'][k]) for k, _, f in cols) + ' |')
    ratios = {}
    if {'skeleton', 'autotrace'} <= set(results):
        s, t = results['skeleton']['summary'], results['autotrace']['summary']
        ratios = dict(speedup=t['seconds'] / s['seconds'], f1_diff=s['f1'] - t['f1'], chamfer_ratio=s['chamfer'] / t['chamfer'],
                      strokes_ratio=s['strokes'] / t['strokes'])
        print(f"\nskeleton vs autotrace: {ratios['speedup']:.2f}× faster, F1 {ratios['f1_diff']:+.4f}, "
              f"chamfer ×{ratios['chamfer_ratio']:.2f}, strokes ×{ratios['strokes_ratio']:.2f}")
    if 'skeleton' in results:
        s = results['skeleton']['summary']
        checks = {'F1@2px >= 0.95': s['f1'] >= 0.95, 'chamfer <= 1.0 px': s['chamfer'] <= 1.0}
        if ratios: checks.update({'F1 >= autotrace': ratios['f1_diff'] >= 0, 'faster than autotrace': ratios['speedup'] >= 1,
                                  'strokes <= autotrace': ratios['strokes_ratio'] <= 1})
        print('targets: ' + ', '.join(f"{k}: {'met' if v else 'MISSED'}" for k, v in checks.items()))
    out = Path(__file__).parent / 'results' / 'vectorize.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(n=len(pages), seed=a.seed, drawings=idx.tolist(), machine=platform.machine(), cpus=os.cpu_count(),
                                   results=results, ratios=ratios, targets=TARGETS), indent=1, default=float))
    print(f'wrote {out}')

if __name__ == '__main__': main()
