"""Write benchmarks/README.md from the benchmarks' JSON output (benchmarks/results/*.json): one section per benchmark
that has run, with the command that made it, the machine, the date and its table.

    python benchmarks/readme.py
"""
import datetime, importlib, json, os, platform, shlex, sys
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / 'results'
# (results file, benchmark module, title, what it compares)
BENCHMARKS = [
    ('sketch_rnn.json', 'sketch_rnn', 'SketchRNN training and sampling, float32',
     "singleline's SketchRNN (with `fast_rnn`'s CPU kernels) against the artist's PyTorch port, paper-size model, the shared real drawings"),
    ('sketch_rnn_bf16.json', 'sketch_rnn', 'SketchRNN training with bfloat16 products',
     'The same, ours trained with `TrainConfig(cpu_bf16=True)` (the port in float32)'),
    ('converge_conditional_peer60.json', 'converge', "SketchRNN against the artist's port at the same wall clock",
     "singleline's conditional SketchRNN (decoder 256, encoder 128, bfloat16 products, early stopping on validation L_R) and the artist's port `singleline-models` 0.0.2 (its defaults: the paper's sizes), trained at once for the same 60 minutes on the same joined and split drawings, one thread each, then both measured by `singleline.evaluate` (the port through a `DrawingModel` wrapper)"),
    ('converge_conditional_peer60_repeats5.json', 'converge', "The same two checkpoints, evaluated over five draws",
     "the best checkpoints of the 60-minute comparison evaluated again by `singleline.evaluate` with `repeats=5`: five draws of the test halves, samples and reconstructions (seeds 0-4), each realism figure as mean±sd, so that a difference can be weighed against the spread of the draws"),
    ('converge_conditional.json', 'converge', 'SketchRNN to convergence: the paper-size VAE',
     "the paper-size conditional SketchRNN on the artist's drawings, early-stopped on validation L_R"),
    ('converge_conditional_paper256.json', 'converge', 'SketchRNN to convergence: the VAE, 256 wide',
     "the conditional SketchRNN with a 256-wide decoder and a 128-wide encoder (the 60-minute run of the comparison with the port, continued), the paper's augmentation, early-stopped on validation L_R; `HParams`'s default widths; its best checkpoint ships as `look-vae`"),
    ('converge_conditional_paper256_repeats5.json', 'converge', 'The VAE, 256 wide (look-vae), evaluated over five draws',
     "its best checkpoint evaluated again with `repeats=5` (`--reevaluate`): realism figures as mean±sd, and how often a reconstruction finds its own original among the held-out drawings"),
    ('converge_conditional_repeats5.json', 'converge', 'The paper-size VAE, evaluated over five draws',
     "its best checkpoint evaluated again with `repeats=5` (`--reevaluate`), to compare with the model above"),
    ('converge_conditional_more_more256.json', 'converge', 'SketchRNN to convergence: the VAE, 256 wide, more augmentation',
     "the same model with `HParams(augmentation='more')`: rotation, shear, mirroring and jitter on top of the paper's scaling and point dropping"),
    ('converge_unconditional_dec256.json', 'converge', 'SketchRNN to convergence: the decoder alone, 256 wide',
     "the unconditional SketchRNN with a 256-wide decoder, early-stopped on validation L_R; its best checkpoint ships as `look`"),
    ('converge_unconditional_dec256drop8.json', 'converge', 'SketchRNN to convergence: the decoder alone, 256 wide, recurrent dropout 0.8',
     "the same decoder with the recurrent dropout's keep probability 0.8 instead of the paper's 0.9, early-stopped on validation L_R"),
    ('buckets.json', 'buckets', 'Length buckets against a fixed N_max',
     "a training step of each model at its paper size with `TrainConfig(bucket_by_length=True)` (batches of similar length, each cut after its longest drawing) against the paper's batches padded to N_max = 250, on the artist's drawings"),
    ('long_range.json', 'long_range', 'Long-range structure: SketchRNN against the Sketchformer',
     "the conditional SketchRNN (the paper's widths, and HParams' narrower defaults) and the Sketchformer (continuous and tokenised) trained by `converge.py` on the same drawings: reconstruction chamfer overall and on the last third of long drawings, late drift, whether a reconstruction finds its own drawing, loss by position, realism, time; reconstructions averaged over seeds"),
    ('joining.json', 'joining', 'Joining strokes and splitting pages',
     "`singleline.joining`'s merging, splicing and page splitting against the artist's `singleline-dataset` 0.0.2 and vpype 1.15's `linemerge`, same thresholds, on cut-up synthetic drawings, the shared real drawings and synthetic sketchbook pages"),
    ('vectorize.json', 'vectorize', 'Vectorising scans',
     "singleline's `skeleton` tracer against `autotrace` (pyautotrace) on simulated scans of the shared real drawings: accuracy against the known truth, strokes, time and peak memory, and one 20000×20000 page"),
    ('embeddings.json', 'embeddings', 'Page filtering and embedding throughput',
     "the offline page CNN's probe and k-means filters on a synthetic sketchbook, and `embed_pages` from files against the bare forward pass over the same decoded batches (page CNN, resnet18, open_clip ViT-B-32)"),
    ('clustering.json', 'clustering', 'Clustering drawings',
     "the offline drawing CNN (SimCLR on the drawings themselves) with k-means against k-means on raw 48-pixel rasters after PCA, on synthetic drawings mixed with distractors (handwriting, ruled notes, fragments, hatching) and on the shared real drawings with synthetic distractors"),
    ('prepare.json', 'prepare', '`singleline prepare`: resumable, incremental, nothing lost',
     "start-up of the commands, a second run with nothing changed against the first (the old `prepare` redid everything: a fresh folder's run), kill -9 at random moments then the same command against an uninterrupted run, the bad-input corpus, and pages per second and peak memory as the number of pages grows"),
    ('augment.json', 'augment', 'Augmentation against a training step',
     "`singleline.augment` on a batch of 100 real drawings against the original project's SketchRNN augmentation (`singleline_models`) and one SketchRNN training step on CPU"),
]


def machine() -> dict:
    "What the numbers were measured on: CPU model, cores, Python and torch versions, and when."
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): pass
    try: import torch; tv = torch.__version__
    except ImportError: tv = None
    return dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(), torch=tv,
                date=datetime.date.today().isoformat())


def command(script:str, args:dict) -> str:
    "The command line that reproduces a run: the script and every option it was given."
    parts = [f'python benchmarks/{script}.py']
    for k, v in args.items():
        if v is None or v is False or k in ('child', 'data', 'sync', 'tmp'): continue     # (`v in (None, False)` would drop 0: --huge 0, --steps 0)
        if isinstance(v, (list, tuple)): v = ' '.join(shlex.quote(str(x)) for x in v)   # nargs options: the values one after another
        else: v = v if v is True else shlex.quote(str(v))                  # a JSON value in quotes, as a shell needs it
        parts.append(f"--{k.replace('_', '-')}" + ('' if v is True else f' {v}'))
    return ' '.join(parts)


def main():
    sys.path.insert(0, str(HERE))
    out = ['# Benchmarks', '',
           'Each benchmark compares singleline with a named peer in the same run and prints ratios (the machines are shared and noisy).',
           'This page is written by `python benchmarks/readme.py` from their JSON output in `benchmarks/results/`; rerun a benchmark, then that, to update it.', '']
    for fname, module, title, what in BENCHMARKS:
        path = RESULTS / fname
        if not path.exists(): continue
        report = json.loads(path.read_text())
        m = report.get('machine', {})
        out += [f'## {title}', '', what + '.', '',
                f"`{command(module, report['args'])}`" + (f" — {m.get('date')}, {m.get('cpu')}, {m.get('cores')} cores, torch {m.get('torch')}" if m else ''), '',
                '```', *importlib.import_module(module).table(report), '```', '']
    (HERE / 'README.md').write_text('\n'.join(out))
    print(f"wrote {HERE / 'README.md'}")


if __name__ == '__main__':
    main()
