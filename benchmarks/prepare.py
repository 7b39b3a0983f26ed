"""Benchmark of `singleline prepare`: resumable, incremental, nothing lost, flat memory, quick start-up.

One run measures, on synthetic sketchbooks (`scans.write_sketchbook`, drawing pages of 600×800 px):

1. start-up: `singleline --help`, `singleline join --help`, `singleline prepare --help` (median of 5 runs of the
   console script, wall seconds) and whether each imported torch;
2. on 40 pages of the demo's size (1500×2000): a second run with nothing changed against the first (the old
   `prepare` redid all the work on every run: its cost is a fresh folder's run), then one joining setting changed and
   one page added;
3. `--trials` runs killed with `kill -9` at random moments (uniform over the uninterrupted run's duration), each
   started again: the rerun must exit 0 and give exactly the uninterrupted run's dataset (same arrays, same splits),
   and no hidden temporary file may be left;
4. the bad-input corpus (`pipeline.write_bad_scans`, 16 kinds, plus a page removed while the run is going): what
   became of each file, and the exit codes (0 with some pages skipped, 2 when nothing can be used);
5. scaling: `--scale` books of 600×800 pages (copies of 50 synthetic pages, each made distinct by bytes after the JPEG's end, so
   every page is hashed, decoded and traced): pages per second per stage, wall time, and the peak memory of the
   main process and of the whole process tree (main + workers), sampled from /proc every 0.1 s.

Run: `python benchmarks/prepare.py` (the defaults take about 17 minutes on two busy cores; `--quick` for a smoke
run). Prints a table, writes benchmarks/results/prepare.json.
"""
from __future__ import annotations
import argparse, json, os, random, shutil, signal, statistics, subprocess, sys, tempfile, time, threading
from pathlib import Path
import numpy as np

os.environ.setdefault('SINGLELINE_QUIET', '1')
from singleline import scans
from singleline.data import load_npz
from singleline.pipeline import prepare, PrepareConfig, write_bad_scans, summary, _default_join
from singleline.manifest import Manifest
from dataclasses import replace

HERE = Path(__file__).parent
CLI = [sys.executable, '-c', 'import sys; from singleline.cli import main; sys.exit(main())']
# commands run as an installed package runs: with its bytecode cached (this machine sets PYTHONDONTWRITEBYTECODE, which makes
# every start compile the modules again)
ENV = {k: v for k, v in os.environ.items() if k != 'PYTHONDONTWRITEBYTECODE'}
SCRIPT = Path(sys.executable).parent / 'singleline'


def run_cli(args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(map(str, args)), capture_output=True, text=True, env=ENV, **kw)


def book(folder:Path, pages:int, seed:int=0, jobs:int=2, size=(600, 800)) -> Path:
    scans.write_sketchbook(folder, pages=pages, seed=seed, kinds='drawing', width=size[0], height=size[1], progress=False, workers=jobs)
    return folder


def same(a:dict, b:dict) -> bool:
    return set(a) == set(b) and all(len(a[s]) == len(b[s]) and all(np.array_equal(x, y) for x, y in zip(a[s], b[s])) for s in a)


# ---------------------------------------------------------------- 1. start-up
def startup(repeats:int=5) -> dict:
    out = {}
    for name, args in (('singleline --help', ['--help']), ('singleline join --help', ['join', '--help']),
                       ('singleline prepare --help', ['prepare', '--help'])):
        times = []
        subprocess.run([str(SCRIPT), *args], capture_output=True, env=ENV)          # once first: bytecode cached
        for _ in range(repeats):
            t = time.perf_counter(); subprocess.run([str(SCRIPT), *args], capture_output=True, env=ENV); times.append(time.perf_counter() - t)
        probe = subprocess.run([sys.executable, '-c', f'import sys, contextlib, io\nfrom singleline.cli import main\n'
                                f'with contextlib.redirect_stdout(io.StringIO()): main({args!r})\nprint("torch" in sys.modules)'],
                               capture_output=True, text=True, env=ENV)
        out[name] = dict(median_s=statistics.median(times), min_s=min(times), torch=probe.stdout.strip() == 'True')
    return out


# ---------------------------------------------------------------- 2. reruns
def reruns(tmp:Path, pages:int, jobs:int, size) -> dict:
    src = book(tmp / 'rerun-scans', pages, seed=1, jobs=jobs, size=size)
    out, res = tmp / 'rerun-out', {}
    for what, extra in (('first run', []), ('second run, nothing changed', []), ('join merge 15 → 10', ['--merge', '10'])):
        t = time.perf_counter(); p = run_cli(['prepare', src, '--out', out, '--jobs', jobs, *extra]); dt = time.perf_counter() - t
        assert p.returncode == 0, p.stderr
        res[what] = dict(seconds=dt, ran=ran_counts(out))
    scans.write_sketchbook(tmp / 'extra', pages=1, seed=99, kinds='drawing', width=size[0], height=size[1], progress=False)
    shutil.move(tmp / 'extra' / 'sb44p001.jpg', src / 'sb45p001.jpg')
    t = time.perf_counter(); p = run_cli(['prepare', src, '--out', out, '--jobs', jobs, '--merge', '10']); dt = time.perf_counter() - t
    assert p.returncode == 0, p.stderr
    res['one page added'] = dict(seconds=dt, ran=ran_counts(out))
    t = time.perf_counter(); p = run_cli(['prepare', src, '--out', tmp / 'rerun-fresh', '--jobs', jobs]); dt = time.perf_counter() - t
    res['a fresh folder (what every run cost before the manifest)'] = dict(seconds=dt, ran=ran_counts(tmp / 'rerun-fresh'))
    res['second / first'] = res['second run, nothing changed']['seconds'] / res['first run']['seconds']
    return res


def ran_counts(out:Path) -> dict:
    with Manifest(out / 'manifest.sqlite') as m:
        s = json.loads(m.one('SELECT summary FROM runs ORDER BY id DESC LIMIT 1')['summary'])
    return {k: v['ran'] for k, v in s['counts'].items()}


# ---------------------------------------------------------------- 3. kill -9
def last_stage(out:Path) -> str:
    "How far a killed run had got, from its manifest."
    try:
        with Manifest(out / 'manifest.sqlite') as m:
            r = m.one("SELECT stage, count(*) AS n FROM stages WHERE run = (SELECT max(id) FROM runs) GROUP BY stage ORDER BY max(rowid) DESC LIMIT 1")
            done = m.one("SELECT count(*) AS n FROM outputs WHERE run = (SELECT max(id) FROM runs)")['n']
        return 'before any stage' if r is None else f"{r['stage']} ({r['n']} pages)" + (' + outputs' if done else '')
    except Exception as e: return f'no manifest yet ({type(e).__name__})'


def kills(tmp:Path, pages:int, trials:int, jobs:int, seed:int=0) -> dict:
    src = book(tmp / 'kill-scans', pages, seed=2, jobs=jobs)
    t = time.perf_counter(); p = run_cli(['prepare', src, '--out', tmp / 'kill-whole', '--jobs', jobs]); whole_s = time.perf_counter() - t
    assert p.returncode == 0, p.stderr
    whole = load_npz(tmp / 'kill-whole' / 'dataset.npz')
    rng, rows = random.Random(seed), []
    for i in range(trials):
        out = tmp / f'kill-{i}'
        at = rng.uniform(0.05, 0.95) * whole_s
        proc = subprocess.Popen(CLI + ['prepare', str(src), '--out', str(out), '--jobs', str(jobs)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=ENV)
        time.sleep(at)
        finished = proc.poll() is not None
        if not finished: os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        where = 'finished before the kill' if finished else last_stage(out)
        visible_ok = not (out / 'dataset.npz').exists() or same(load_npz(out / 'dataset.npz'), whole)   # a visible dataset is never half-written
        t = time.perf_counter(); p = run_cli(['prepare', src, '--out', out, '--jobs', jobs]); rerun_s = time.perf_counter() - t
        ok = p.returncode == 0 and same(load_npz(out / 'dataset.npz'), whole)
        left = [f.name for f in out.rglob('.*')]
        rows.append(dict(killed_at_s=at, where=where, rerun_s=rerun_s, rerun_exit=p.returncode, identical=ok, visible_ok=visible_ok, temp_left=left))
        shutil.rmtree(out)
    return dict(pages=pages, uninterrupted_s=whole_s, trials=rows, all_identical=all(r['identical'] and r['visible_ok'] and not r['temp_left'] for r in rows))


# ---------------------------------------------------------------- 4. bad input
def bad_input(tmp:Path, jobs:int) -> dict:
    src = book(tmp / 'bad-scans', 6, seed=3, jobs=jobs)
    expect = write_bad_scans(src, src / 'sb44p001.jpg')
    expect['sb44p006.jpg'] = 'removed during the run'
    def remove(stage):
        if stage == 'ingest': (src / 'sb44p006.jpg').unlink()
    r = prepare(src, tmp / 'bad-out', replace(PrepareConfig(), jobs=jobs), on_stage=remove)
    why = {Path(n).name: w for n, w in r.report.skipped}
    why.update({n: 'blank page: nothing traced' for n in r.blank})
    rows = {}
    for name, e in expect.items():
        if e == 'page': rows[name] = dict(expected='processed', got=f"{r.pages.count(name)} drawings", ok=name in r.pages)
        else: rows[name] = dict(expected=e, got=why.get(name, 'NOT NAMED'), ok=e in why.get(name, ''))
    good = [f'sb44p00{i}.jpg' for i in range(1, 6)]
    p = run_cli(['prepare', src, '--out', tmp / 'bad-cli', '--jobs', jobs])
    (tmp / 'only-bad').mkdir()
    for n in ('zero-bytes.jpg', 'text.jpg', 'truncated.jpg', 'one-pixel.png', 'all-black.jpg', 'all-white.jpg'): shutil.copy(src / n, tmp / 'only-bad' / n)
    q = run_cli(['prepare', tmp / 'only-bad', '--out', tmp / 'only-bad-out', '--jobs', jobs])
    return dict(kinds=len(expect), files=rows, all_named=all(v['ok'] for v in rows.values()), good_pages_processed=all(g in r.pages for g in good),
                exit_some_bad=p.returncode, exit_all_bad=q.returncode, all_bad_first_line=q.stderr.splitlines()[0] if q.stderr else '',
                summary_lines=len(p.stdout.splitlines()))


# ---------------------------------------------------------------- 5. scaling
class TreeMemory:
    "Peak resident memory of a process and of its process tree, sampled from /proc."
    def __init__(self, pid:int, every:float=0.1):
        self.pid, self.every, self.main, self.tree = pid, every, 0, 0
        self._stop = threading.Event(); self._t = threading.Thread(target=self._run, daemon=True); self._t.start()
    @staticmethod
    def _rss(pid) -> int:
        try:
            for l in open(f'/proc/{pid}/status'):
                if l.startswith('VmRSS:'): return int(l.split()[1]) * 1024
        except OSError: pass
        return 0
    def _children(self, pid) -> list:
        try: kids = [int(c) for c in open(f'/proc/{pid}/task/{pid}/children').read().split()]
        except OSError: return []
        return kids + [g for k in kids for g in self._children(k)]
    def _run(self):
        while not self._stop.is_set():
            m = self._rss(self.pid)
            self.main = max(self.main, m); self.tree = max(self.tree, m + sum(self._rss(c) for c in self._children(self.pid)))
            time.sleep(self.every)
    def stop(self): self._stop.set(); self._t.join()


def big_book(base:Path, folder:Path, pages:int) -> Path:
    "`pages` distinct files: the base pages over and over, each with its own bytes after the JPEG's end (decoders stop at the end marker)."
    folder.mkdir(parents=True)
    srcs = sorted(base.glob('*.jpg'))
    for i in range(pages):
        s = srcs[i % len(srcs)]
        (folder / f'sb{100 + i // 1000}p{i % 1000:03d}.jpg').write_bytes(s.read_bytes() + f'copy {i}'.encode())
    return folder


def scaling(tmp:Path, sizes:list, jobs:int) -> dict:
    base = book(tmp / 'base', 50, seed=4, jobs=jobs)
    res = {}
    for n in sizes:
        src = big_book(base, tmp / f'big-{n}', n)
        out = tmp / f'big-{n}-out'
        t = time.perf_counter()
        proc = subprocess.Popen(CLI + ['prepare', str(src), '--out', str(out), '--jobs', str(jobs)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV)
        mem = TreeMemory(proc.pid)
        stdout, _ = proc.communicate(); mem.stop()
        wall = time.perf_counter() - t
        assert proc.returncode == 0, stdout
        with Manifest(out / 'manifest.sqlite') as m:
            s = json.loads(m.one('SELECT summary FROM runs ORDER BY id DESC LIMIT 1')['summary'])
            cpu = {r['stage']: r['s'] for r in m.all("SELECT stage, sum(seconds) AS s FROM stages GROUP BY stage")}
        stages = {k: dict(pages=v['ran'], wall_s=v['seconds'], pages_per_s=v['ran'] / v['seconds'] if v['seconds'] else None,
                          worker_s_per_page=(cpu.get(k) or 0) / v['ran'] if v['ran'] else None) for k, v in s['counts'].items()}
        res[str(n)] = dict(pages=n, wall_s=wall, peak_main_mb=mem.main / 2**20, peak_tree_mb=mem.tree / 2**20, drawings=s['drawings'],
                           stages=stages, manifest_mb=(out / 'manifest.sqlite').stat().st_size / 2**20)
        shutil.rmtree(src); shutil.rmtree(out / 'svg')
    return res


# ---------------------------------------------------------------- report
def table(report:dict) -> list:
    r = report['results']
    L = ['start-up (median wall s of the console script)           torch imported']
    for k, v in r['startup'].items(): L.append(f"  {k:<28} {v['median_s']:6.2f} s                  {v['torch']}")
    L.append('')
    L.append(f"reruns on {report['args']['pages']} pages of {report['args']['size'][0]}×{report['args']['size'][1]} px (wall s of the command; stages that ran, in pages)")
    for k, v in r['reruns'].items():
        if isinstance(v, dict): L.append(f"  {k:<56} {v['seconds']:6.2f} s  {' '.join(f'{s} {n}' for s, n in v['ran'].items())}")
    L.append(f"  second run / first run: {r['reruns']['second / first']:.1%}")
    L.append('')
    k = r['kills']
    L.append(f"kill -9 at random moments ({len(k['trials'])} trials, {k['pages']} pages, uninterrupted run {k['uninterrupted_s']:.1f} s): "
             f"{'every rerun finished with the identical dataset' if k['all_identical'] else 'SOME RERUN DIFFERED'}")
    for t in k['trials']:
        what = f"killed at {t['killed_at_s']:5.1f} s in {t['where']}" if not t['where'].startswith('finished') else f"kill due at {t['killed_at_s']:5.1f} s: run finished first"
        L.append(f"  {what:<50} rerun {t['rerun_s']:5.1f} s exit {t['rerun_exit']} identical {t['identical']}"
                 + (f" temp left {t['temp_left']}" if t['temp_left'] else ''))
    L.append('')
    b = r['bad_input']
    L.append(f"bad input: {b['kinds']} kinds among 6 good pages; every bad file named: {b['all_named']}; every good page processed: {b['good_pages_processed']}; "
             f"exit {b['exit_some_bad']} (some skipped), {b['exit_all_bad']} (nothing usable); summary {b['summary_lines']} lines")
    for name, v in b['files'].items(): L.append(f"  {name:<18} {v['got'][:90]}")
    L.append('')
    L.append('scaling (one run each, --jobs %d)' % report['args']['jobs'])
    L.append(f"  {'pages':>6} {'wall s':>8} {'peak main MB':>13} {'peak all MB':>12} {'drawings':>9}   pages/s: " + ' '.join(f'{s:>9}' for s in ('ingest', 'vectorize', 'strokes', 'join', 'split')))
    for n, v in r['scaling'].items():
        pps = ' '.join(f"{(v['stages'].get(s) or {}).get('pages_per_s') or 0:9.1f}" for s in ('ingest', 'vectorize', 'strokes', 'join', 'split'))
        L.append(f"  {v['pages']:>6} {v['wall_s']:8.0f} {v['peak_main_mb']:13.0f} {v['peak_tree_mb']:12.0f} {v['drawings']:>9}            {pps}")
    return L


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pages', type=int, default=40, help='pages of the book for reruns and kill trials')
    ap.add_argument('--size', type=int, nargs=2, default=[1500, 2000], help="page size of the rerun book (the demo's pages, on which the old prepare took 11.7 s for 40 pages)")
    ap.add_argument('--trials', type=int, default=10, help='kill -9 trials (pages of 600×800)')
    ap.add_argument('--scale', type=int, nargs='*', default=[1000, 10000], help='page counts of the scaling runs')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 1, help='prepare --jobs')
    ap.add_argument('--quick', action='store_true', help='a smoke run: 8 pages, 2 trials, scaling at 60 and 120 pages')
    a = ap.parse_args()
    if a.quick: a.pages, a.trials, a.scale = 8, 2, [60, 120]
    from readme import machine
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, fn in (('startup', lambda: startup()), ('reruns', lambda: reruns(tmp, a.pages, a.jobs, a.size)),
                         ('kills', lambda: kills(tmp, a.pages, a.trials, a.jobs)), ('bad_input', lambda: bad_input(tmp, a.jobs)),
                         ('scaling', lambda: scaling(tmp, a.scale, a.jobs))):
            t = time.time(); res[name] = fn(); print(f'{name}: {time.time() - t:.0f} s', file=sys.stderr, flush=True)
    report = dict(args={k: v for k, v in vars(a).items() if k != 'quick'} | ({'quick': True} if a.quick else {}), machine=machine(), results=res)
    print('\n'.join(table(report)))
    if not a.quick:
        (HERE / 'results').mkdir(exist_ok=True)
        (HERE / 'results' / 'prepare.json').write_text(json.dumps(report, indent=1, default=str))
        print(f"wrote {HERE / 'results' / 'prepare.json'}")


if __name__ == '__main__':
    sys.path.insert(0, str(HERE))
    main()
