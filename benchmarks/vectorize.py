"""Vectorisation benchmark: both backends side by side on simulated scans of the artist's real drawings.

Renders N shared drawings (look_train.npz) into JPEG scans with `singleline.scans.scan_drawings` (ground truth known),
traces every page with each backend (each backend in its own process, so peak memory is its own), normalises trace and
truth to the 200 canvas with the same transform (the truth's box), and reports: mean symmetric chamfer distance,
precision / recall / F1 of points within 2 px (both sampled every ~1 px), strokes per drawing, seconds per page and peak
memory (the tracing process's peak RSS, VmHWM; timings are wall-clock per page, one process, so they
depend on the machine's load: compare the backends within one run). Also traces one 20000×20000 JPEG page (a real drawing, 40 px pen) with each backend in a fresh
process and reports its peak memory and time. Run: python benchmarks/vectorize.py [--n 50] [--huge 20000]   (writes benchmarks/results/vectorize.json)
"""
from __future__ import annotations
import argparse, json, os, sys, time, resource, platform
import multiprocessing as mp
from pathlib import Path
import numpy as np
from scipy.spatial import cKDTree

from singleline.core import CANVAS, deltas_to_strokes   # light: the tracing processes re-import this module (spawn)

TARGETS = {'f1': 0.95, 'chamfer': 1.0}
SCANS = '/tmp/singleline_bench_vectorize'

def peak_rss_mb() -> float:
    "This process's peak resident memory (VmHWM; unlike ru_maxrss it is not inherited from the parent across exec)."
    try:
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    except OSError: pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def _trace_pages(args):
    "Child process: trace every page with one backend; per page strokes and seconds, plus the process's peak memory."
    backend, files = args
    from singleline.vectorize import vectorize
    vectorize(files[0], backend)                                   # warm up imports and caches (not timed)
    base_rss = peak_rss_mb()
    out = []
    for f in files:
        t = time.perf_counter()
        strokes = vectorize(f, backend)
        out.append(([s.tolist() for s in strokes], time.perf_counter() - t))
    return out, peak_rss_mb(), base_rss

def _trace_huge(args):
    "Child process (fresh interpreter): trace one huge page; strokes, seconds, working shape and the process's peak memory."
    backend, file = args
    from singleline.vectorize import vectorize, read_page, VectorizeConfig
    t = time.perf_counter()
    strokes = vectorize(file, backend)
    secs, peak = time.perf_counter() - t, peak_rss_mb()
    return [s.tolist() for s in strokes], secs, peak, list(read_page(file, VectorizeConfig().max_side)[0].size[::-1])

def huge_page(drawing, path, side=20000, pen=40):
    "Render one drawing across a `side`² page (pen `pen` px) as a JPEG; returns the truth strokes and box in page px."
    import cv2
    from singleline.core import bbox, transform_deltas, translation_matrix, scale_matrix
    from singleline.display import rasterize
    b = bbox(drawing); s = 0.8 * side / max(b.width, b.height)
    d = transform_deltas(drawing, translation_matrix(0.1 * side, 0.1 * side) @ scale_matrix(s) @ translation_matrix(-b.x0, -b.y0))
    truth = deltas_to_strokes(d)
    page = rasterize(truth, fit=False, canvas=np.full((side, side), 245, np.uint8), pen_width=pen, ink=30)
    cv2.imwrite(str(path), page, [cv2.IMWRITE_JPEG_QUALITY, 85])
    bb = bbox(d)
    return truth, (bb.x0, bb.y0, bb.x1, bb.y1)

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

def score(trace, truth, box, tol=2.0, canvas=True):
    "Chamfer and precision/recall/F1 within `tol` on the 200 canvas (the truth box's transform applied to both), or in page px."
    x0, y0, x1, y1 = box
    s = CANVAS / max(x1 - x0, y1 - y0) if canvas else 1.
    to_canvas = lambda strokes: [(np.asarray(q, float) - [x0, y0]) * s for q in strokes]
    T = resample(to_canvas(truth)); P = resample(to_canvas(trace))
    if len(P) == 0: return dict(chamfer=float('nan'), precision=0., recall=0., f1=0., f1_1px=0.)
    d_pt = cKDTree(T).query(P)[0]; d_tp = cKDTree(P).query(T)[0]
    p, r = (d_pt <= tol).mean(), (d_tp <= tol).mean()
    p1, r1 = (d_pt <= 1).mean(), (d_tp <= 1).mean()
    return dict(chamfer=(d_pt.mean() + d_tp.mean()) / 2, precision=p, recall=r, f1=2 * p * r / (p + r) if p + r else 0.,
                f1_1px=2 * p1 * r1 / (p1 + r1) if p1 + r1 else 0.)

def table(report:dict) -> list:
    "The benchmark's table, as lines, from its JSON report (`args` and `results`)."
    res = report['results']
    results, huge, ratios = res['backends'], res['huge'], res['ratios']
    cols = [('chamfer', 'chamfer px', '{:.3f}'), ('precision', 'P@2px', '{:.4f}'), ('recall', 'R@2px', '{:.4f}'), ('f1', 'F1@2px', '{:.4f}'),
            ('min_f1', 'min F1', '{:.3f}'), ('f1_1px', 'F1@1px', '{:.4f}'), ('strokes', 'strokes/drawing', '{:.1f}'),
            ('truth_strokes', 'truth strokes', '{:.1f}'), ('seconds', 's/page', '{:.2f}'), ('peak_rss_mb', 'peak RSS MB', '{:.0f}'),
            ('rss_after_warmup_mb', 'RSS after 1st page MB', '{:.0f}'), ('chamfer_page', 'chamfer page px', '{:.3f}'),
            ('f1_page', 'F1@2 page px', '{:.4f}')]
    lines = [f"{res['n']} pages {res['page_width']}×{res['page_height']}, one real drawing each (look_train), pen {res['pen_width']:.1f} px; "
             f"metrics on the 200 canvas", '',
             '| backend | ' + ' | '.join(c[1] for c in cols) + ' |',
             '|---' * (len(cols) + 1) + '|']
    for b, r in results.items():
        lines.append(f'| {b} | ' + ' | '.join(f.format(r['summary'][k]) for k, _, f in cols) + ' |')
    for b, h in huge.items():
        lines.append(f"huge page {h['side']}×{h['side']} JPEG, {b}: worked at {h['working_shape'][1]}×{h['working_shape'][0]}, {h['seconds']:.1f} s, "
                     f"peak RSS {h['peak_rss_mb']:.0f} MB, {h['strokes']} strokes, chamfer {h['chamfer']:.3f}, F1@2px {h['f1']:.4f} (200 canvas)")
    if ratios:
        s, t = results['skeleton']['summary'], results['autotrace']['summary']
        lines += ['', f"skeleton vs autotrace: {ratios['speedup']:.2f}× faster, F1 {ratios['f1_diff']:+.4f}, "
                      f"(F1 {s['f1']:.5f} vs {t['f1']:.5f}), chamfer ×{ratios['chamfer_ratio']:.2f}, strokes ×{ratios['strokes_ratio']:.2f}"]
    if 'skeleton' in results:
        s = results['skeleton']['summary']
        checks = {'F1@2px >= 0.95': s['f1'] >= 0.95, 'chamfer <= 1.0 px': s['chamfer'] <= 1.0}
        if 'skeleton' in huge: checks['huge page peak < 2 GB'] = huge['skeleton']['peak_rss_mb'] < 2048
        if ratios: checks.update({'F1 >= autotrace': ratios['f1_diff'] >= 0, 'faster than autotrace': ratios['speedup'] >= 1,
                                  'strokes <= autotrace': ratios['strokes_ratio'] <= 1})
        lines.append('targets: ' + ', '.join(f"{k}: {'met' if v else 'MISSED'}" for k, v in checks.items()))
    return lines

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=50, help='drawings (one per page), spread evenly over look_train')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--scans', default=None, help=f'folder for the simulated scans, reused when present (default {SCANS})')
    ap.add_argument('--backends', nargs='+', default=['skeleton', 'autotrace'])
    ap.add_argument('--huge', type=int, default=20000, help='side of the one huge page (JPEG) traced for peak memory; 0 skips it')
    a = ap.parse_args(argv)
    from singleline.data import find_shared_data, load_npz   # heavy imports (torch) stay out of the tracing processes
    from singleline.scans import load_truth, scan_drawings
    look = find_shared_data('look_train.npz')
    if look is None: sys.exit('shared data look_train.npz not found')
    drawings = load_npz(look, 'train')['train']
    idx = np.linspace(0, len(drawings) - 1, a.n).round().astype(int)
    scans = Path(a.scans or SCANS) / f'n{a.n}_seed{a.seed}'
    if (scans / 'truth.json').exists(): truth = load_truth(scans)
    else:
        t = time.perf_counter()
        truth = scan_drawings([drawings[i] for i in idx], scans, seed=a.seed, progress=False)
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
            true_strokes = deltas_to_strokes(np.asarray(dr['deltas'], float))
            m = score(strokes, true_strokes, dr['box'])
            pg = score(strokes, true_strokes, dr['box'], canvas=False)      # the same in page pixels: a stricter view
            m.update(chamfer_page=pg['chamfer'], f1_page=pg['f1'])
            m.update(strokes=len(strokes), truth_strokes=int(np.asarray(dr['deltas'])[:, 2].sum()), seconds=secs)
            rows.append(m)
        agg = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        agg.update(min_f1=float(min(r['f1'] for r in rows)), max_chamfer=float(np.nanmax([r['chamfer'] for r in rows])),
                   peak_rss_mb=peak_mb, rss_after_warmup_mb=base_mb, pages=len(rows))
        results[b] = dict(summary=agg, pages=rows)
    huge = {}
    if a.huge:
        hp = scans.parent / f'huge{a.huge}.jpg'
        truth_h, box_h = huge_page(drawings[idx[0]], hp, a.huge)
        for b in a.backends:
            with mp.get_context('spawn').Pool(1) as pool:
                strokes, secs, peak, shape = pool.map(_trace_huge, [(b, str(hp))])[0]
            m = score(strokes, truth_h, box_h)
            huge[b] = dict(side=a.huge, working_shape=shape, seconds=secs, peak_rss_mb=peak, strokes=len(strokes),
                           chamfer=m['chamfer'], f1=m['f1'])
    ratios = {}
    if {'skeleton', 'autotrace'} <= set(results):
        sk, t = results['skeleton']['summary'], results['autotrace']['summary']
        ratios = dict(speedup=t['seconds'] / sk['seconds'], f1_diff=sk['f1'] - t['f1'], chamfer_ratio=sk['chamfer'] / t['chamfer'],
                      strokes_ratio=sk['strokes'] / t['strokes'])
    from readme import machine
    report = dict(args=vars(a), machine=machine(),
                  results=dict(n=len(pages), seed=a.seed, drawings=idx.tolist(), page_width=pages[0]['width'], page_height=pages[0]['height'],
                               pen_width=float(np.mean([p['pen_width'] for p in pages])), arch=platform.machine(), cpus=os.cpu_count(),
                               backends=results, huge=huge, ratios=ratios, targets=TARGETS))
    report = json.loads(json.dumps(report, default=float))            # what the JSON holds (numpy scalars as floats)
    print()
    print('\n'.join(table(report)))
    out = Path(__file__).parent / 'results' / 'vectorize.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f'wrote {out}')

if __name__ == '__main__': main()
