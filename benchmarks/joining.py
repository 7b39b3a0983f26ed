"""Benchmark of `singleline.joining` against the artist's `singleline-dataset` 0.0.2 and vpype 1.15 `linemerge`.

One run, same thresholds for everyone (merge 15, splice 40 on the 200 canvas):

1. merging on synthetic drawings cut into 10–500 pieces (shuffled, half of them flipped) and on the shared real
   drawings: time per drawing, strokes left, pen-up travel — ours (`merge_strokes`, then `order_strokes`),
   singleline-dataset `merge_until`, vpype `LineCollection.merge` (what `vpype linemerge` runs);
2. merge + splice: ours vs `merge_until` + `splice_until`;
3. page splitting on synthetic sketchbook pages (`scans.write_sketchbook` truth: 1–3 drawings per page), whole
   strokes and strokes cut into pieces: share of pages grouped exactly as the truth, ours vs `separate_non_overlapping`.

Peers live outside the project's environment (never in its requirements); install them once with

    pip install --no-deps --target /work/peers/sld singleline-dataset==0.0.2 rdp==0.8
    pip install --no-deps --target /work/peers/vpype vpype==1.15.0 asteval cachetools multiprocess dill pnoise \
        "pyphen>=0.14,<0.16" svgelements tomli

(numpy, scipy, shapely and click come from the project's venv; the folders are appended to `sys.path`, so they never
shadow it). Other folders: `SLD_PATH=... VPYPE_PATH=...`. Run: `python benchmarks/joining.py` (about 3 minutes;
`--quick` for a smoke run). Prints a table, writes benchmarks/results/joining.json.
"""
from __future__ import annotations
import argparse, importlib, json, os, sys, tempfile, time, types
from pathlib import Path
import numpy as np

os.environ.setdefault('SINGLELINE_QUIET', '1')
from singleline.core import deltas_to_strokes, strokes_to_deltas, normalize, BBox
from singleline.data import find_shared_data
from singleline.joining import (merge_strokes, splice_strokes, order_strokes, clean_strokes, pen_up_travel,
                                split_page)

MERGE, SPLICE, IOU = 15., 40., 0.05
SLD_PATH = Path(os.environ.get('SLD_PATH', '/work/peers/sld'))
VPYPE_PATH = Path(os.environ.get('VPYPE_PATH', '/work/peers/vpype'))


# ---------------------------------------------------------------- peers
def load_sld():
    "The artist's pure-numpy modules: `strokes` (merge_until, splice_until) and `bounding_boxes` (separate_non_overlapping)."
    pkg_dir = SLD_PATH / 'singleline_dataset'
    if not (pkg_dir / 'strokes.py').exists(): sys.exit(f"singleline-dataset not found in {SLD_PATH}: see the install line at the top of {__file__}")
    if str(SLD_PATH) not in sys.path: sys.path.append(str(SLD_PATH))       # for `rdp`
    pkg = types.ModuleType('singleline_dataset'); pkg.__path__ = [str(pkg_dir)]
    sys.modules['singleline_dataset'] = pkg
    # svg (lxml), display (IPython), dataset (pandas) and fileorg (fastai) are only star-imported by the two modules
    # we need, for names the measured functions never use: register them empty instead of importing fastai.
    for name in ('svg', 'display', 'dataset', 'fileorg'):
        sys.modules[f'singleline_dataset.{name}'] = types.ModuleType(f'singleline_dataset.{name}')
    return importlib.import_module('singleline_dataset.strokes'), importlib.import_module('singleline_dataset.bounding_boxes')

def load_vpype():
    if not (VPYPE_PATH / 'vpype').exists(): sys.exit(f"vpype not found in {VPYPE_PATH}: see the install line at the top of {__file__}")
    if str(VPYPE_PATH) not in sys.path: sys.path.append(str(VPYPE_PATH))
    import vpype
    return vpype

def vpype_merge(vpype, strokes, tol):
    "What `vpype linemerge --tolerance tol` does to one layer; returns the strokes and the seconds of the merge alone."
    lc = vpype.LineCollection([s[:, 0] + 1j * s[:, 1] for s in strokes])
    t0 = time.perf_counter(); lc.merge(tolerance=tol, flip=True); dt = time.perf_counter() - t0
    return [np.c_[l.real, l.imag] for l in lc], dt


# ---------------------------------------------------------------- data
def resample(s, step):
    "Points every `step` units along a stroke (ends kept)."
    seg = np.linalg.norm(np.diff(s, axis=0), axis=1)
    t = np.r_[0, np.cumsum(seg)]
    if t[-1] == 0: return s[:1]
    u = np.r_[np.arange(0, t[-1], step), t[-1]]
    return np.c_[np.interp(u, t, s[:, 0]), np.interp(u, t, s[:, 1])]

def cut(strokes, pieces, rng, flip=0.5):
    "Cut strokes into `pieces` pieces at random points (a piece starts one point after the last ends: a gap of one step), shuffle, flip some."
    sizes = np.array([len(s) for s in strokes])
    n_cuts = max(0, pieces - len(strokes))
    cand = np.concatenate([np.arange(1, n - 1) + off for n, off in zip(sizes, np.r_[0, np.cumsum(sizes)[:-1]])])
    cuts = set(rng.choice(cand, size=min(n_cuts, len(cand)), replace=False).tolist())
    out, off = [], 0
    for s in strokes:
        start = 0
        for i in range(1, len(s) - 1):
            if off + i in cuts: out.append(s[start:i]); start = i
        out.append(s[start:]); off += len(s)
    out = [p[::-1] if rng.random() < flip else p for p in out]
    return [out[i] for i in rng.permutation(len(out))]

def synth_source(n, seed):
    try:
        from singleline.synth import synth_drawings
        drawings, families = synth_drawings(n, seed)
        return drawings, 'singleline.synth.synth_drawings'
    except ImportError:
        from singleline.core import random_drawing
        rng = np.random.default_rng(seed)
        return [random_drawing(rng, 3, 60) for _ in range(n)], 'core.random_drawing'

def synthetic_cut(pieces, n, seed, step=2.):
    "`n` synthetic drawings on the 200 canvas, resampled (every `step` units, or finer so that pieces get 6 points on average) and cut into `pieces` pieces."
    rng = np.random.default_rng(seed)
    drawings, _ = synth_source(n, seed)
    out = []
    for d in drawings:
        strokes = deltas_to_strokes(normalize(d))
        total = sum(np.linalg.norm(np.diff(x, axis=0), axis=1).sum() for x in strokes)
        s = [resample(x, min(step, total / (6 * pieces))) for x in strokes]
        out.append(cut(s, pieces, rng))
    return out


# ---------------------------------------------------------------- runs
def timed(fn, *a, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter(); r = fn(*a); best = min(best, time.perf_counter() - t0)
    return r, best

def ours_merge(strokes):
    m, _ = merge_strokes(strokes, MERGE)
    return order_strokes(m)[0]

def ours_join(strokes):
    m, _ = merge_strokes(strokes, MERGE)
    s, _ = splice_strokes(m, SPLICE)
    return order_strokes(s)[0]

def sld_merge(sld, strokes):
    return sld.merge_until([s.copy() for s in strokes], dist_threshold=MERGE)[0]

def sld_join(sld, strokes):
    m = sld.merge_until([s.copy() for s in strokes], dist_threshold=MERGE)[0]
    return sld.splice_until(m, dist_threshold=SPLICE)[0]

def row(name, case, results):
    "Mean strokes in/out, pen-up travel out and time per drawing of `results`: list of (strokes_in, strokes_out, seconds)."
    n_in = np.mean([len(a) for a, _, _ in results]); n_out = np.mean([len(b) for _, b, _ in results])
    travel = np.mean([pen_up_travel(b) for _, b, _ in results])
    t = np.mean([dt for _, _, dt in results])
    return dict(case=case, method=name, drawings=len(results), strokes_in=float(n_in), strokes_out=float(n_out),
                travel_out=float(travel), ms=float(t * 1000))

def bench_merge(cases, sld, vpype, sld_max, n_sld, repeat):
    "Ours and vpype on every drawing of each case; the artist's code on the first `n_sld` drawings of cases of at most `sld_max` strokes."
    rows = []
    for case, drawings, with_sld in cases:
        drawings = [clean_strokes(d)[0] for d in drawings]
        ours = [(d, *timed(ours_merge, d, repeat=repeat)) for d in drawings]
        rows.append(row('ours merge', case, ours))
        vp = []
        for d in drawings:
            best, out = np.inf, None
            for _ in range(repeat):
                out, dt = vpype_merge(vpype, d, MERGE); best = min(best, dt)
            vp.append((d, out, best))
        rows.append(row('vpype linemerge', case, vp))
        S = np.mean([len(d) for d in drawings])
        with_sld = with_sld and S <= sld_max
        if with_sld:
            sub = drawings[:n_sld]
            rows.append(row('sld merge_until', case, [(d, *timed(sld_merge, sld, d)) for d in sub]))
            rows.append(row('ours merge', case + ' (same drawings as sld)', [(d, *timed(ours_merge, d, repeat=repeat)) for d in sub]))
        # merge + splice
        rows.append(row('ours merge+splice', case, [(d, *timed(ours_join, d, repeat=repeat)) for d in drawings]))
        if with_sld:
            sub = drawings[:n_sld]
            rows.append(row('sld merge_until+splice_until', case, [(d, *timed(sld_join, sld, d)) for d in sub]))
            rows.append(row('ours merge+splice', case + ' (same drawings as sld)', [(d, *timed(ours_join, d, repeat=repeat)) for d in sub]))
        print(f"  {case}: done", file=sys.stderr, flush=True)
    return rows


# ---------------------------------------------------------------- splitting
def truth_pages(n_pages, seed):
    from singleline.scans import write_sketchbook, truth_points
    from singleline.core import points_to_strokes
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_sketchbook(tmp, pages=n_pages, seed=seed, kinds='drawing', progress=False, width=750, height=1000, workers=1)
    pages = []
    for p in truth['pages']:
        strokes, owner = [], []
        for k, d in enumerate(p['drawings']):
            s = points_to_strokes(truth_points(d))
            strokes += s; owner += [k] * len(s)
        pages.append((strokes, np.array(owner), max(p['width'], p['height'])))
    return pages

def same_partition(labels, owner) -> bool:
    "Whether grouping `labels` puts strokes together exactly when `owner` does."
    pairs = set(zip(labels.tolist(), owner.tolist()))
    return len(pairs) == len(set(labels.tolist())) == len(set(owner.tolist()))

def sld_labels(bb, strokes):
    groups, _ = bb.separate_non_overlapping(strokes, iou_threshold=IOU)
    labels = np.full(len(strokes), -1)
    count = np.zeros(len(strokes), int)
    for g, idx in enumerate(groups):
        for i in idx: labels[i] = g; count[i] += 1
    return labels, int((count > 1).sum())

def bench_split(pages, bb, rng, pieces_per_stroke):
    out = []
    for variant, k in [('whole strokes', 0), (f'cut into ~{pieces_per_stroke} pieces per stroke', pieces_per_stroke)]:
        ok_ours = ok_sld = ok_ours_kept = 0; t_ours = t_sld = 0.; two_groups = 0; n_strokes = []
        for strokes, owner, side in pages:
            if k:
                pieces, po = [], []
                for s, o in zip(strokes, owner):
                    s = resample(s, 4.)
                    c = cut([s], max(1, min(k, len(s) - 1)), rng, flip=0.5)
                    pieces += c; po += [o] * len(c)
                perm = rng.permutation(len(pieces))
                strokes, owner = [pieces[i] for i in perm], np.array(po)[perm]
            n_strokes.append(len(strokes))
            scale = 200. / side                                                    # the page on the 200 canvas
            strokes = [s * scale for s in strokes]
            t0 = time.perf_counter(); ps = split_page(strokes); t_ours += time.perf_counter() - t0
            ok_ours += same_partition(ps.labels, owner)
            ok_ours_kept += same_partition(ps.labels, owner) and len(ps.kept) == len(ps.boxes)
            t0 = time.perf_counter(); lab, dup = sld_labels(bb, strokes); t_sld += time.perf_counter() - t0
            ok_sld += (lab >= 0).all() and dup == 0 and same_partition(lab, owner)
            two_groups += dup > 0
        n = len(pages)
        out.append(dict(variant=variant, pages=n, strokes_per_page=float(np.mean(n_strokes)),
                        ours_exact=ok_ours / n, ours_exact_and_kept=ok_ours_kept / n, sld_exact=ok_sld / n,
                        sld_pages_with_a_stroke_in_two_groups=two_groups, ours_ms=t_ours / n * 1000, sld_ms=t_sld / n * 1000))
    return out


# ---------------------------------------------------------------- table
def table(report:dict) -> list:
    "The benchmark's table, as lines, from its JSON report (`args` and `results`)."
    res = report['results']
    lines = [f"Merge threshold {res['merge']:g}, splice threshold {res['splice']:g} (200 canvas); time = mean per drawing; "
             f"travel = mean pen-up travel after. Synthetic drawings: {res['synthetic_source']}."]
    hdr = f"{'case':<52} {'method':<30} {'n':>4} {'strokes in':>10} {'out':>7} {'travel':>8} {'ms':>9}"
    lines += [hdr, '-' * len(hdr)]
    for r in res['rows']:
        lines.append(f"{r['case']:<52} {r['method']:<30} {r['drawings']:>4} {r['strokes_in']:>10.1f} {r['strokes_out']:>7.1f} {r['travel_out']:>8.1f} {r['ms']:>9.2f}")
    lines += ['', "Ratios (speed-up = their time / ours):"]
    for r in res['ratios']:
        if 'speedup_vs_sld' in r:
            lines.append(f"  {r['case']:<52} {r['step']:<13} {r['speedup_vs_sld']:8.0f}× faster than sld; strokes {r['strokes_ours']:.1f} vs {r['strokes_sld']:.1f}; travel {r['travel_ours']:.0f} vs {r['travel_sld']:.0f}")
        else:
            lines.append(f"  {r['case']:<52} {r['step']:<13} {r['speedup_vs_vpype']:8.1f}× faster than vpype; strokes {r['strokes_ours']:.1f} vs {r['strokes_vpype']:.1f}; travel {r['travel_ours']:.0f} vs {r['travel_vpype']:.0f}")
    lines += ['', f"Page splitting (IoU {res['iou']}, containment counts; pages on the 200 canvas):"]
    for r in res['split']:
        lines.append(f"  {r['variant']:<32} {r['pages']} pages, {r['strokes_per_page']:.0f} strokes/page: exact grouping ours {r['ours_exact']:.1%} "
                     f"(and nothing dropped {r['ours_exact_and_kept']:.1%}), sld {r['sld_exact']:.1%} "
                     f"({r['sld_pages_with_a_stroke_in_two_groups']} pages with a stroke in two groups); {r['ours_ms']:.2f} ms vs {r['sld_ms']:.1f} ms per page")
    lines += ['', f"wall time {res['wall_s']:.0f} s"]
    return lines


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='a few drawings per case (smoke run)')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    sld, bb = load_sld(); vpype = load_vpype()
    q = a.quick
    n_syn, n_sld, n_real, n_pages = (3, 1, 20, 20) if q else (20, 3, 1300, 200)
    source = synth_source(1, 0)[1]
    piece_counts = [10, 25, 50, 100, 200, 500]
    cases = [(f'synthetic, {k} pieces', synthetic_cut(k, n_syn, a.seed + k), True) for k in piece_counts]
    look = list(np.load(find_shared_data('look_train.npz'), allow_pickle=True, encoding='latin1')['train'])[:n_real]
    cases.append((f'real look_train ({len(look)} drawings)', [deltas_to_strokes(d) for d in look], False))   # sld: a sample, below
    t0 = time.time()
    print(f"merging and splicing: {source} cut into pieces, and the shared real drawings", file=sys.stderr)
    merge_rows = bench_merge(cases, sld, vpype, sld_max=110, n_sld=n_sld, repeat=3)
    # sld on the real drawings: a sample (it takes ~0.5 s each)
    real_sample = [clean_strokes(deltas_to_strokes(d))[0] for d in look[:20 if q else 50]]
    name = f'real look_train (first {len(real_sample)}, same drawings for all)'
    merge_rows.append(row('sld merge_until', name, [(d, *timed(sld_merge, sld, d)) for d in real_sample]))
    merge_rows.append(row('ours merge', name, [(d, *timed(ours_merge, d, repeat=3)) for d in real_sample]))
    merge_rows.append(row('vpype linemerge', name, [(d, *vpype_merge(vpype, d, MERGE)) for d in real_sample]))
    merge_rows.append(row('sld merge_until+splice_until', name, [(d, *timed(sld_join, sld, d)) for d in real_sample]))
    merge_rows.append(row('ours merge+splice', name, [(d, *timed(ours_join, d, repeat=3)) for d in real_sample]))
    print("page splitting on synthetic sketchbook pages", file=sys.stderr)
    split_rows = bench_split(truth_pages(n_pages, a.seed), bb, np.random.default_rng(a.seed), 8)
    wall = time.time() - t0

    ratios = []
    for r in merge_rows:
        if not r['method'].startswith('sld'): continue
        mine = 'ours merge' if r['method'] == 'sld merge_until' else 'ours merge+splice'
        case = r['case'] if r['case'].startswith('real look_train (first') else r['case'] + ' (same drawings as sld)'
        o = next(x for x in merge_rows if x['case'] == case and x['method'] == mine)
        ratios.append(dict(case=r['case'], step=mine.replace('ours ', ''), speedup_vs_sld=r['ms'] / o['ms'],
                           strokes_ours=o['strokes_out'], strokes_sld=r['strokes_out'], travel_ours=o['travel_out'], travel_sld=r['travel_out']))
    for r in merge_rows:
        if r['method'] != 'vpype linemerge': continue
        o = next(x for x in merge_rows if x['case'] == r['case'] and x['method'] == 'ours merge')
        ratios.append(dict(case=r['case'], step='merge vs vpype', speedup_vs_vpype=r['ms'] / o['ms'],
                           strokes_ours=o['strokes_out'], strokes_vpype=r['strokes_out'], travel_ours=o['travel_out'], travel_vpype=r['travel_out']))
    from readme import machine
    report = dict(args=vars(a), machine=machine(), results=dict(merge=MERGE, splice=SPLICE, iou=IOU, synthetic_source=source, quick=q, rows=merge_rows,
                                                                ratios=ratios, split=split_rows, wall_s=wall))
    print()
    print('\n'.join(table(report)))
    out = Path(__file__).parent / 'results' / 'joining.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")

if __name__ == '__main__':
    main()
