"""Training to convergence: SketchRNN (or a Sketchformer) on the shared drawings, early-stopped on validation L_R, then evaluated.

    python benchmarks/converge.py [--mode both] [--minutes 120] [--patience 6] [--augmentation paper] [--threads 1] [--out DIR] [--resume] [--ship] [--hparams JSON] [--tag NAME]
    python benchmarks/converge.py --compare RESULT [RESULT ...] [--figure NAME]     # the curves of earlier runs in one figure
    python benchmarks/converge.py --ship-from RESULT                                 # an earlier run's best checkpoints become the pretrained models

Data, as `singleline prepare` makes it: the shared pages (../shared/data/look_train.npz) joined (`joining.join_drawings`,
RDP tolerance 2 on the 200 canvas) and split into drawings (`joining.split_pages`, groups of at least 150 units of area,
as prepare's default), cut 85 / 7.5 / 7.5 % into train / valid / test (seed 0). Drawings longer than N_max = 250 points
(about 2 %) are left out.

Model: singleline's SketchRNN (`HParams()`: encoder 128, decoder 256 layer-norm LSTM with recurrent dropout, z 128,
M 20, batch 100, Adam 1e-3 with decay, KL weight 0.5 annealed; the paper's widths, 256 / 512, with
--hparams '{"dec_rnn_size": 512, "enc_rnn_size": 256}'), or a Sketchformer at its paper size (--model), conditional (VAE) and/or unconditional (decoder alone),
with the chosen augmentation (`HParams.augmentation`), bfloat16 matrix products on the CPU. Each mode trains in its own
process (both at once with --mode both, one torch thread each), validating every 100 steps; it stops when validation
L_R has not improved for `--patience` validations, or after `--minutes`. The checkpoint with the lowest validation L_R
is kept as OUT/<mode>/best.pt (the trainer's `best_metric='L_R'`, `patience`, `max_minutes`) and evaluated by `singleline.evaluate.evaluate_run` on the test split, with one
drawing CNN (trained once on the train split, OUT/drawing_cnn.pt) for every mode so that their figures compare.

Writes benchmarks/results/converge[_<mode>][_<augmentation>].json (settings, curves against steps and minutes, evaluation
of each mode) and the same name with _curves.png, and prints a table; with --ship, each mode's best checkpoint becomes
the package's pretrained model (`singleline.sample.PRETRAINED`).
"""
import argparse, json, os, sys, time, csv, shutil, subprocess, tempfile
from pathlib import Path
import numpy as np

RESULTS = Path(__file__).parent / 'results'
SHARED = Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'look_train.npz'
MODES = ('conditional', 'unconditional')
LOOK_DATA = ("1,300 single-line drawings by Andrew Look (github.com/andrewlook/singleline_models, data/look/look_i16.npz), joined "
             "(RDP 2) and split into drawings as singleline prepare does: 1,626 for training, 144 to validate, 144 to test")
LOOK_LICENCE = "the drawings: MIT License, Copyright (c) 2023 Andrew Look"



def prepare_data(out: Path) -> Path:
    "The shared pages joined, split into drawings and cut into train/valid/test: OUT/look_drawings.npz."
    from singleline.data import load_npz, save_npz, split_drawings
    from singleline.joining import join_drawings, split_pages, JoinConfig, SplitConfig
    path = out / 'look_drawings.npz'
    if path.exists(): return path
    if not SHARED.exists(): sys.exit(f"the shared drawings are not here: {SHARED}")
    pages = load_npz(SHARED)['train']
    joined, _ = join_drawings(pages, JoinConfig(rdp=2.0), 'look train')
    drawings, _ = split_pages(joined, SplitConfig(min_area=150.), 'look joined')
    return save_npz(path, split_drawings(drawings, (0.85, 0.075, 0.075), seed=0))


def run_folder(out: Path, model: str, mode: str, tag: str = '') -> Path:
    "Where a run of `model` in `mode` (with `tag`) lives under OUT."
    return out / (('' if model == 'sketchrnn' else f'{model}_') + mode + (f'_{tag}' if tag else ''))


def child(a) -> dict:
    "Train one mode until early stopping or the time limit (continuing its run with --resume); evaluate its best checkpoint."
    import torch
    from singleline.train import make_trainer
    from singleline.evaluate import evaluate_run, EvaluateConfig
    torch.set_num_threads(a.threads)
    out, data = Path(a.out), Path(a.data)
    run = run_folder(out, a.model, a.child, a.tag)
    resume = a.resume and (run / 'checkpoint.pt').exists()
    if run.exists() and not resume: shutil.rmtree(run)
    model = dict(conditional=a.child == 'conditional', max_seq_len=250, **({'augmentation': a.augmentation} if a.model == 'sketchrnn' else {}), **json.loads(a.hparams))
    t = make_trainer(data, run, a.model, model, dict(steps=10**9, valid_every=100, best_metric='L_R', patience=a.patience, log_every=20, save_every=100, sample_every=0,
                                                     cpu_bf16=True, threads=a.threads, progress=False, tensorboard=False, seed=0), resume=resume)
    done = curves(run)['train'] if resume else []                  # the logs up to the checkpoint (the trainer cut what came after)
    spent = done[-1]['minutes'] if done else 0.
    # a resumed run takes these from here too: the patience and time left, checkpoints every 100 steps, the model's batching
    t.config.patience, t.config.best_metric, t.config.save_every = a.patience, 'L_R', 100
    t.config.bucket_by_length, t.config.max_minutes = t.raw_model.bucket_by_length, a.minutes - spent
    if t.config.max_minutes > 0: t.run()                          # the trainer keeps RUN/best.pt, the lowest validation L_R
    stop = f'no improvement in {a.patience} validations' if t.stopped == 'patience' else 'time limit'
    c = curves(run)
    ev = evaluate_run(run / 'best.pt', data, EvaluateConfig(embedder=str(out / 'drawing_cnn.pt'), seed=0))
    return dict(mode=a.child, model=a.model, run=str(run), hparams=json.loads(a.hparams), steps=t.step, minutes=c['train'][-1]['minutes'] if c['train'] else 0.,
                stopped=stop, best_valid_L_R=t.best_valid, n_train=len(t.train_set), left_out=t.meta.get('dropped_train'), curves=c, evaluation=ev)


def training_minutes(times) -> np.ndarray:
    "Minutes of training at each of a run's log times (ascending): the first row counts one typical interval (the median between rows), and so does a gap over ten times it (the run stopped, then resumed)."
    gaps = np.diff(np.asarray(times, dtype=np.float64), prepend=times[0]) if len(times) else np.zeros(0)
    typical = np.median(gaps[1:]) if len(gaps) > 1 else 0.
    gaps[:1] = typical                                             # the steps before the first row took about as long
    return np.cumsum(np.where(gaps > 10 * typical, typical, gaps)) / 60


def curves(run: Path) -> dict:
    "Training and validation rows of the run's CSV logs: step, minutes of training (`training_minutes` of the training rows), L_R (and L_KL)."
    out, rows_of = {}, {}
    for name in ('train', 'valid'):
        with open(run / f'{name}.csv') as f: rows_of[name] = list(csv.DictReader(f))
    times = [float(r['time']) for r in rows_of['train']]
    minutes = training_minutes(times)
    at = lambda t: float(np.interp(t, times, minutes)) if times else 0.     # a validation row: the training minutes at its time
    for name, rows in rows_of.items():
        out[name] = [dict(step=int(r['step']), minutes=at(float(r['time'])), L_R=float(r['L_R']),
                          **({'L_KL': float(r['L_KL'])} if 'L_KL' in r else {})) for r in rows]
    return out


def plot(results: dict, path: Path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for (mode, r), colour in zip(results.items(), ('C0', 'C1', 'C3')):
        for ax, x in zip(axes, ('step', 'minutes')):
            tr, va = r['curves']['train'], r['curves']['valid']
            ax.plot([p[x] for p in tr], [p['L_R'] for p in tr], colour, alpha=0.35, lw=1, label=f'{mode}: train')
            ax.plot([p[x] for p in va], [p['L_R'] for p in va], colour, marker='o', ms=3, label=f'{mode}: valid')
    for ax, x in zip(axes, ('optimisation steps', 'minutes (2-core CPU)')):
        ax.set_xlabel(x); ax.set_ylabel('L_R'); ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def table(report: dict) -> list:
    "The benchmark's table, as lines, from its JSON report."
    from singleline.evaluate import evaluation_table
    a, res = argparse.Namespace(**report.get('trained_with', report['args'])), report['results']
    title = {'sketchrnn': 'SketchRNN', 'sketchformer': 'Sketchformer (continuous)', 'sketchformer-tokens': 'Sketchformer (tokens)'}[getattr(a, 'model', 'sketchrnn')]
    lines = [f"{title} to convergence on the shared drawings, augmentation '{a.augmentation}', limit {a.minutes:.0f} min, patience {a.patience}, {a.threads} thread(s) each"
             + (f"; best checkpoints evaluated again over {report['args']['repeats']} draws" if 'trained_with' in report else '')]
    for mode, r in res.items():
        lines.append(f"{mode}: {r['steps']} steps in {r['minutes']:.0f} min ({r['stopped']}); best validation L_R {r['best_valid_L_R']:.4f}; "
                     f"{r['n_train']} training drawings ({r['left_out']} longer than N_max left out)")
        lines += ['  ' + l for l in evaluation_table(r['evaluation'])]
    return lines


def ship(results: dict, out: Path, data: Path):
    "Export each mode's best checkpoint as the package's pretrained model, with a few held-out drawings to show it on."
    from singleline.sample import export_pretrained, pretrained_path
    from singleline.data import load_npz, save_npz
    names = {'conditional': 'look-vae', 'unconditional': 'look'}
    pretrained_path('look').parent.mkdir(exist_ok=True)
    for mode, r in results.items():
        about = dict(data=LOOK_DATA, licence=LOOK_LICENCE, steps=r['steps'], minutes=round(r['minutes'], 1), stopped=r['stopped'],
                     best_valid_L_R=r['best_valid_L_R'], test_L_R=r['evaluation']['losses']['L_R'],
                     made_by='python benchmarks/converge.py --ship (singleline)')
        path = export_pretrained(Path(r['run']) / 'best.pt', pretrained_path(names[mode]), dict(about, hparams=r['hparams']))
        print(f"shipped {mode} as '{names[mode]}': {path} ({path.stat().st_size / 1e6:.1f} MB)")
    test = [d for d in load_npz(data)['test'] if len(d) <= 250][:24]
    save_npz(pretrained_path('look').parent / 'look_examples.npz', {'test': test})


def reevaluate(a):
    "Evaluate the best checkpoints of the run `a.reevaluate` again (the port's through `peer_sketch_rnn.load_peer`), the realism figures as mean and spread over `a.repeats` draws."
    import torch
    from singleline.evaluate import evaluate_run, evaluate_model, EvaluateConfig
    from readme import machine
    torch.set_num_threads(a.threads)
    report = json.loads((RESULTS / f'{a.reevaluate}.json').read_text())
    data = Path(report['data'])
    cfg = EvaluateConfig(embedder=str(data.parent / 'drawing_cnn.pt'), seed=0, repeats=a.repeats)
    for mode, r in report['results'].items():
        if mode == 'peer':
            from peer_sketch_rnn import load_peer
            model, scale, step = load_peer(Path(r['run']))
            r['evaluation'] = evaluate_model(model, scale, data, cfg, r['run'], run=str(Path(r['run']) / 'best.pt'), step=step)
        else:
            t = report['args']
            run = Path(r['run']) if 'run' in r else run_folder(data.parent, t.get('model', 'sketchrnn'), mode, t.get('tag', ''))   # older results lack 'run'
            r['evaluation'] = evaluate_run(run / 'best.pt', data, cfg)
    report.update(trained_with=report.get('trained_with', report['args']), args=dict(reevaluate=a.reevaluate, repeats=a.repeats, threads=a.threads), machine=machine())
    path = RESULTS / f'{a.reevaluate}_repeats{a.repeats}.json'
    path.write_text(json.dumps(report, indent=1))
    print('\n'.join(table(report))); print(f"wrote {path}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--mode', choices=('both',) + MODES, default='both', help='which models to train (default both, at once)')
    p.add_argument('--minutes', type=float, default=120, help='time limit of each training (default 120)')
    p.add_argument('--patience', type=int, default=6, help='stop after this many validations (every 100 steps) without a lower L_R (default 6)')
    p.add_argument('--augmentation', choices=('paper', 'more'), default='paper', help="HParams.augmentation (default 'paper')")
    p.add_argument('--hparams', default='{}', help='JSON of HParams settings to change, e.g. \'{"recurrent_dropout_prob": 0.8}\' (default: none)')
    p.add_argument('--tag', default='', help='added to the results file name and the run folders (default: none)')
    p.add_argument('--threads', type=int, default=1, help='torch threads per training (default 1)')
    p.add_argument('--out', default=None, help='folder for the data, the runs and the drawing CNN (default: a new temporary folder)')
    p.add_argument('--resume', action='store_true', help='continue the runs in OUT/<mode> where their checkpoints stopped (the minutes spent from their logs, the best so far from the checkpoint)')
    p.add_argument('--ship', action='store_true', help="export each mode's best checkpoint as the package's pretrained model (singleline/pretrained/)")
    p.add_argument('--model', choices=('sketchrnn', 'sketchformer', 'sketchformer-tokens'), default='sketchrnn', help='the model trained in each mode (default sketchrnn; the Sketchformers at their paper sizes)')
    p.add_argument('--peer', action='store_true', help="also train the artist's port (singleline-models 0.0.2, conditional, its defaults) for the same minutes, at once (benchmarks/peer_sketch_rnn.py)")
    p.add_argument('--peer-valid-every', type=int, default=25, help="validate the port every this many steps (default 25; its steps are slower)")
    p.add_argument('--compare', nargs='+', metavar='RESULT', help='instead of training: plot the curves of earlier runs (benchmarks/results/RESULT.json; RESULT=LABEL names a curve) in one figure, nbs/images/FIGURE.png')
    p.add_argument('--figure', default='converge_compare', help='the file name of --compare\'s figure (default converge_compare)')
    p.add_argument('--ship-from', metavar='RESULT', help="instead of training: ship the best checkpoints of an earlier run (benchmarks/results/RESULT.json) as the package's pretrained models")
    p.add_argument('--reevaluate', metavar='RESULT', help="instead of training: evaluate the best checkpoints of an earlier run (benchmarks/results/RESULT.json, the port's too) again, over --repeats draws; writes RESULT_repeats<N>.json")
    p.add_argument('--repeats', type=int, default=5, help='draws of --reevaluate (EvaluateConfig.repeats, default 5)')
    p.add_argument('--child', choices=MODES + ('peer',), help=argparse.SUPPRESS)
    p.add_argument('--data', help=argparse.SUPPRESS)
    a = p.parse_args()
    os.environ.setdefault('SINGLELINE_QUIET', '1')                 # no progress bars in the log
    if a.child == 'peer':
        from peer_sketch_rnn import train_peer
        out = Path(a.out)
        print('RESULT ' + json.dumps(train_peer(out / ('peer' + (f'_{a.tag}' if a.tag else '')), Path(a.data), a.minutes, a.peer_valid_every,
                                                a.threads, str(out / 'drawing_cnn.pt')))); return
    if a.child:
        print('RESULT ' + json.dumps(child(a))); return
    if a.ship_from:
        report = json.loads((RESULTS / f'{a.ship_from}.json').read_text())
        ship({m: r for m, r in report['results'].items() if m in MODES}, Path(report['data']).parent, Path(report['data'])); return
    if a.reevaluate:
        reevaluate(a); return
    if a.compare:
        res = {}
        for item in a.compare:                                     # RESULT or RESULT=LABEL
            name, _, label = item.partition('=')
            r = json.loads((RESULTS / f'{name}.json').read_text())['results']
            res.update({(label or name.removeprefix('converge_')) + ('' if len(r) == 1 else f' {mode}'): v for mode, v in r.items()})
        path = Path(__file__).parents[1] / 'nbs' / 'images' / f'{a.figure}.png'
        plot(res, path); print(f"wrote {path}"); return
    out = Path(a.out or tempfile.mkdtemp()); out.mkdir(parents=True, exist_ok=True)
    data = prepare_data(out)
    if not (out / 'drawing_cnn.pt').exists():                      # one embedder for every mode's Fréchet distance
        from singleline.clustering import train_drawing_cnn, DrawingCnnConfig
        from singleline.data import load_npz
        train_drawing_cnn(load_npz(data)['train'], DrawingCnnConfig(seed=0, device='cpu')).save(out / 'drawing_cnn.pt')
    modes = MODES if a.mode == 'both' else (a.mode,)
    env = {**os.environ, 'SINGLELINE_QUIET': '1', 'OMP_NUM_THREADS': str(a.threads)}
    cmds = {m: [sys.executable, __file__, '--child', m, '--data', str(data), '--out', str(out), '--minutes', str(a.minutes),
                '--patience', str(a.patience), '--augmentation', a.augmentation, '--threads', str(a.threads), '--hparams', a.hparams, '--tag', a.tag, '--model', a.model,
                '--peer-valid-every', str(a.peer_valid_every)] + (['--resume'] if a.resume else []) for m in modes + (('peer',) if a.peer else ())}
    sys.path.insert(0, str(Path(__file__).parent))
    from sketch_rnn import run_sides
    from readme import machine
    res = run_sides(cmds, env, sequential=False)
    report = dict(args={k: v for k, v in vars(a).items() if k not in ('child', 'data')}, machine=machine(), data=str(data), results=res)
    RESULTS.mkdir(exist_ok=True)
    name = 'converge' + ('' if a.model == 'sketchrnn' else f'_{a.model}') + ('' if a.mode == 'both' else f'_{a.mode}') + ('' if a.augmentation == 'paper' else f'_{a.augmentation}') + (f'_{a.tag}' if a.tag else '')
    (RESULTS / f'{name}.json').write_text(json.dumps(report, indent=1))
    plot(res, RESULTS / f'{name}_curves.png')
    if a.ship:
        if a.model != 'sketchrnn': sys.exit("--ship ships SketchRNN models only")
        ship(res, out, data)
    print('\n'.join(table(report)))
    print(f"wrote {RESULTS / f'{name}.json'} and {RESULTS / f'{name}_curves.png'}; runs in {out}")


if __name__ == '__main__':
    main()
