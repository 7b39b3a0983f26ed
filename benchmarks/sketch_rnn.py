"""SketchRNN: singleline.sketch_rnn against the artist's PyTorch port (singleline-models 0.0.2), same configuration, same data.

    pip install --no-deps --target /work/peers/slm singleline-models==0.0.2 einops==0.8.2 fastprogress==1.0.3
    python benchmarks/sketch_rnn.py [--budget 150] [--threads 1] [--sample-threads N] [--n-sample 100] [--sequential] [--ours-bf16]

Configuration for both: encoder 256 (bidirectional), decoder 512 layer-norm LSTM, z 128, M = 20, batch 100,
max_seq_len 200; data: the shared real drawings (look_train.npz) with 10 to 200 points (longer ones are dropped for
both, so the port's truncation never cuts a drawing), split 90/10 with a fixed seed. Each implementation runs in its own
process (peak RSS is that process's), with the same torch thread count (by default both processes run at the same time, so that a shared machine's
load falls on both alike; `--sequential` runs one after the other), and trains through its own trainer:
ours `singleline.train.Trainer.train_step`, theirs `Trainer.step(batch, is_training=True)` with their data loader.

Measured:
- training steps/s over a fixed wall-clock budget (first step included), and the median step's wall-clock and CPU
  (process) time: on a shared machine the CPU time is the steadier figure;
- validation loss after that budget, ONE definition for both, computed by `singleline.sketch_rnn.reconstruction_loss`
  on the outputs of each model: the paper's L_R = L_s + L_p with z = mu (no sampling noise), offsets' mixture NLL over the
  real points and pen cross-entropy over all N_max = 200 steps, each divided by N_max, averaged over the drawings;
- sampling 100 drawings (temperature 0.4) conditioned on 100 validation drawings: ours in one batch (`generate`),
  theirs one `SketchRNNModel.sample` call per drawing, as their trainer does; each side samples while the other waits,
  --sample-repeats times with the same seeds (the best run counts, every run is in the JSON); time, points drawn, points per second
  (their cost grows with the points drawn, one step per point; ours with the longest drawing of the batch). Sampling is
  timed alone, so each side is timed with 1 thread and with --sample-threads (default: every core) and its faster setting
  counts (a batch of one gains nothing from threads; a batch of 100 does). The two models stop their drawings at different
  lengths (a model that has learnt the artist's long lines draws up to 200 points; an under-trained one ends early), so
  the like-for-like figure is points per second: the same work, one point of one drawing, on both sides.
  Ours is timed twice: with float32 products, and with the loop's two big products in bfloat16 (`precision='bf16'`,
  summed in float32); what bf16 costs in quality shows as the validation L_R of the sampling loop run teacher-forced
  in bf16 (`fast_rnn.sampling_step` fed the real points) beside the float32 one.
The port's trainer imports wandb at module level but never calls it with use_wandb=False; the benchmark puts an
empty module under that name so that it imports (wandb itself is not installable offline with its dependencies).
"""
import argparse, json, os, sys, time, types, subprocess, resource, tempfile
from pathlib import Path
import numpy as np

PEER = os.environ.get('SLM_PATH', '/work/peers/slm')
RESULTS = Path(__file__).parent / 'results'


def prepare(tmp: Path) -> Path:
    from singleline.data import find_shared_data, load_npz, split_drawings, save_npz
    src = find_shared_data('look_train.npz')
    if src is None: sys.exit("look_train.npz not found (shared/data)")
    d = [x for x in load_npz(src)['train'] if 10 <= len(x) <= 200]
    s = split_drawings(d, (0.9, 0.1, 0.0), seed=0)
    return save_npz(tmp / 'bench.npz', {'train': s['train'], 'valid': s['valid']})


def common_loss(p, S5, lengths):
    "Our definition of L_R on mixture parameters p (B, T>=200, .) and stroke-5 targets; plus nothing else."
    import torch
    from singleline.sketch_rnn import reconstruction_loss
    p = {k: v[:, :200] for k, v in p.items()}
    L_s, L_p = reconstruction_loss(p, S5[:, 1:201], lengths)
    return float(L_s + L_p), float(L_s), float(L_p)


def turn(a, side):
    "Sampling is timed alone: when both sides run at once, ours samples once both have trained, theirs once ours has sampled."
    if not a.sync: return
    sync = Path(a.sync)
    (sync / f'{side}.trained').touch()
    need = ['ours.trained', 'peer.trained'] if side == 'ours' else ['ours.sampled']
    t0 = time.time()
    while not all((sync / n).exists() for n in need) and time.time() - t0 < 1800: time.sleep(0.2)


def time_sampling(a, sample, prefix='sample') -> dict:
    """Time `sample()` (which seeds itself and returns the points it drew) --sample-repeats times with 1 thread and with
    --sample-threads (alone on the machine): the best time, its thread count, every run, the points, points per second."""
    import torch
    runs = {}
    for threads in sorted({1, a.sample_threads or os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        for r in range(a.sample_repeats):                               # the same drawings and seeds each time
            s = time.perf_counter(); points = sample()
            runs.setdefault(threads, []).append(time.perf_counter() - s)
    best = min(runs, key=lambda k: min(runs[k]))
    t = min(runs[best])
    return {f'{prefix}_s': t, f'{prefix}_threads': best, f'{prefix}_runs_s': runs, f'{prefix}_points': points, f'{prefix}_points_per_s': points / t}


def sampled(a, side):
    if a.sync: (Path(a.sync) / f'{side}.sampled').touch()


def child_ours(a, data):
    import torch
    from singleline.sketch_rnn import SketchRNN, HParams, generate
    from singleline.fast_rnn import sampling_step
    from singleline.train import Trainer, TrainConfig
    from singleline.data import load_npz, collate_stroke5
    torch.set_num_threads(a.threads)
    splits = load_npz(data)
    torch.manual_seed(0)
    model = SketchRNN(HParams.paper(max_seq_len=200))          # the paper's widths, as the port's defaults
    train_set = model.make_dataset(splits['train'], None, True, 0)
    t = Trainer(model, train_set, None, TrainConfig(steps=10**9, progress=False, log_every=0, valid_every=0, sample_every=0, threads=a.threads, cpu_bf16=a.ours_bf16))
    it = t.batches()
    times, cpu, t0 = [], [], time.perf_counter()
    while time.perf_counter() - t0 < a.budget:
        batch = next(it)
        s, c = time.perf_counter(), time.process_time(); t.train_step(batch)
        times.append(time.perf_counter() - s); cpu.append(time.process_time() - c)
    elapsed = time.perf_counter() - t0
    rss_train = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # validation: z = mu, eval mode
    model.eval()
    valid = [np.asarray(d, np.float64) * [1 / train_set.scale, 1 / train_set.scale, 1] for d in splits['valid']]
    S5, lengths = collate_stroke5(valid, 200)
    with torch.no_grad():
        _, mu, _ = model.encode(S5, lengths, sample=False)
        p, _ = model.decode(S5[:, :-1], mu)
        (h, c), gz = model.initial_state(mu, len(S5))
        step, state, ps = sampling_step(model, 'bf16'), (h, c, gz), []
        for i in range(S5.shape[1] - 1):                              # the sampling step with bf16 products, teacher-forced
            q, state = step(S5[:, i], state); ps.append(q)
        p16 = {k: torch.stack([q[k] for q in ps], 1) for k in ps[0]}
    loss, loss16 = common_loss(p, S5, lengths), common_loss(p16, S5, lengths)
    # sampling: 100 drawings conditioned on 100 validation drawings, one batch; float32 and bfloat16 products
    turn(a, 'ours')
    n = a.n_sample
    idx = np.arange(n) % len(valid)
    def sample(precision):
        torch.manual_seed(0)
        with torch.no_grad():
            _, mu, sh = model.encode(S5[idx], lengths[idx])
            out = generate(model, z=mu + torch.exp(sh / 2) * torch.randn_like(mu), temperature=0.4, max_len=200, seed=0, precision=precision)
        return int(sum(len(d) for d in out))
    res = {**time_sampling(a, lambda: sample('fp32')), **time_sampling(a, lambda: sample('bf16'), 'sample_bf16')}
    sampled(a, 'ours')
    return dict(impl='ours', steps=len(times), elapsed=elapsed, steps_per_s=len(times) / elapsed,
                median_step_s=float(np.median(times)), median_step_cpu_s=float(np.median(cpu)), first_step_s=times[0], max_step_s=max(times), step_wall_s=sum(times), step_cpu_s=sum(cpu), valid_L_R=loss[0], valid_L_s=loss[1], valid_L_p=loss[2],
                valid_L_R_bf16=loss16[0], **res, peak_rss_train_mb=rss_train,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, scale=train_set.scale)


def child_peer(a, data):
    import io, contextlib, torch
    sys.path.insert(0, PEER)
    sys.modules.setdefault('wandb', types.ModuleType('wandb'))      # imported by their trainer, unused with use_wandb=False
    from singleline_models.sketch_rnn.trainer import SketchRNNModel, Trainer
    torch.set_num_threads(a.threads)
    hp = SketchRNNModel.get_default_config()
    hp.dataset_fname, hp.max_seq_length = str(data), 200            # their defaults are the benchmark's configuration already
    assert (hp.enc_hidden_size, hp.dec_hidden_size, hp.d_z, hp.n_distributions, hp.batch_size, hp.use_layer_norm) == (256, 512, 128, 20, 100, True)
    torch.manual_seed(0); np.random.seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        model = SketchRNNModel(hp, device='cpu')
        tr = Trainer(model, hp, device='cpu', models_dir=tempfile.mkdtemp())
    times, cpu, t0 = [], [], time.perf_counter()
    it = iter(tr.train_loader)
    while time.perf_counter() - t0 < a.budget:
        try: batch = next(it)
        except StopIteration: it = iter(tr.train_loader); batch = next(it)
        s, c = time.perf_counter(), time.process_time(); tr.step(batch, is_training=True)
        times.append(time.perf_counter() - s); cpu.append(time.process_time() - c)
    elapsed = time.perf_counter() - t0
    rss_train = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # validation with the common definition: our stroke-5 batch in their layout (seq, batch, 5) with their one extra end row
    from singleline.data import load_npz, collate_stroke5
    scale = float(tr.train_dataset.scale)
    valid = [np.asarray(d, np.float64) * [1 / scale, 1 / scale, 1] for d in load_npz(data)['valid']]
    S5, lengths = collate_stroke5(valid, 201)                       # (B, 202, 5): start, up to 200 points, end rows
    model.encoder.train(False); model.decoder.train(False)
    with torch.no_grad():
        x = S5.transpose(0, 1)                                      # (202, B, 5), the layout of their trainer
        _, mu, _ = model.encoder(x)
        inputs = torch.cat([x[:-1], mu.unsqueeze(0).expand(x.shape[0] - 1, -1, -1)], 2)
        dist, q_log, _ = model.decoder(inputs, mu, None)
        tb = lambda v: v.transpose(0, 1)
        p = dict(q_logits=tb(q_log), pi_logits=tb(dist.pi_logits), mu_x=tb(dist.mu_x), mu_y=tb(dist.mu_y),
                 log_sigma_x=tb(dist.sigma_x).log(), log_sigma_y=tb(dist.sigma_y).log(), rho_xy=tb(dist.rho_xy).clamp(-1 + 1e-6, 1 - 1e-6))
    loss = common_loss(p, S5, lengths)
    # sampling: their Sampler path, one drawing per call, conditioned on each validation drawing
    turn(a, 'peer')
    def sample():
        torch.manual_seed(0); np.random.seed(0)
        points = 0
        for i in range(a.n_sample):
            data_i = tr.valid_dataset[i % len(tr.valid_dataset)][0].unsqueeze(1)   # (202, 1, 5)
            points += len(model.sample(data_i, 0.4)) - 1
        return points
    res = time_sampling(a, sample)
    sampled(a, 'peer')
    return dict(impl='singleline-models 0.0.2', steps=len(times), elapsed=elapsed, steps_per_s=len(times) / elapsed,
                median_step_s=float(np.median(times)), median_step_cpu_s=float(np.median(cpu)), first_step_s=times[0], max_step_s=max(times), step_wall_s=sum(times), step_cpu_s=sum(cpu), valid_L_R=loss[0], valid_L_s=loss[1], valid_L_p=loss[2],
                **res, peak_rss_train_mb=rss_train,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, scale=scale)


def run_sides(cmds:dict, env:dict, sequential:bool) -> dict:
    "Run each side's child process (all at once, so that the machine's load falls on all alike, or one after the other) → each side's RESULT dict."
    if sequential: outs = {x: subprocess.run(c, capture_output=True, text=True, env=env) for x, c in cmds.items()}
    else:
        procs = {x: subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for x, c in cmds.items()}
        outs = {}
        for x, pr in procs.items():
            out, err = pr.communicate()
            outs[x] = subprocess.CompletedProcess(pr.args, pr.returncode, out, err)
    res = {}
    for x, out in outs.items():
        line = [l for l in out.stdout.splitlines() if l.startswith('RESULT ')]
        if out.returncode or not line: sys.exit(f"{x} failed:\n{out.stderr[-3000:]}")
        res[x] = json.loads(line[0][7:])
    return res


def table(report:dict) -> list:
    "The benchmark's table, as lines, from its JSON report (`args` and `results`)."
    a, res = argparse.Namespace(**report['args']), report['results']
    rows = [('training steps/s', 'steps_per_s', '{:.4f}'), ('steps in budget', 'steps', '{}'), ('median step (s)', 'median_step_s', '{:.2f}'), ('median step, CPU time (s)', 'median_step_cpu_s', '{:.2f}'),
            ('first step (s)', 'first_step_s', '{:.2f}'), ('slowest step (s)', 'max_step_s', '{:.2f}'), ('CPU time of all steps (s)', 'step_cpu_s', '{:.0f}'),
            ('valid L_R after budget', 'valid_L_R', '{:.4f}'), ('  L_s (offsets)', 'valid_L_s', '{:.4f}'), ('  L_p (pen)', 'valid_L_p', '{:.4f}'),
            ('valid L_R, sampling loop in bf16', 'valid_L_R_bf16', '{:.4f}'),
            (f'sample {a.n_sample} drawings (s, best of {a.sample_repeats})', 'sample_s', '{:.2f}'), ('  threads (the faster)', 'sample_threads', '{}'), ('  points sampled', 'sample_points', '{}'), ('  points per second (like for like)', 'sample_points_per_s', '{:.0f}'),
            ('  same, bf16 products (s)', 'sample_bf16_s', '{:.2f}'), ('  threads, bf16', 'sample_bf16_threads', '{}'), ('  points sampled, bf16', 'sample_bf16_points', '{}'), ('  points per second, bf16', 'sample_bf16_points_per_s', '{:.0f}'),
            ('peak RSS, training (MB)', 'peak_rss_train_mb', '{:.0f}'), ('peak RSS, all (MB)', 'peak_rss_mb', '{:.0f}')]
    lines = [f"SketchRNN, CPU, {a.threads} thread(s) each, {'ours trained with bfloat16 products, ' if a.ours_bf16 else ''}{'one after the other' if a.sequential else 'both at once'}, budget {a.budget:.0f} s each; enc 256, dec 512 LN-LSTM, z 128, M 20, batch 100, N_max 200",
             f"{'':36s} {'ours':>12s} {'singleline-models':>18s} {'ratio':>8s}"]
    for name, k, fmt in rows:
        o, t = res.get('ours', {}).get(k), res.get('peer', {}).get(k)
        k0 = k.replace('_bf16', '')                                     # bf16 rows: against the port's float32 figure
        t_ref = res.get('peer', {}).get(k0)
        ratio = ''
        if o and t_ref:
            ratio = f"{o / t_ref:.2f}×" if k0 in ('steps_per_s', 'steps', 'sample_points_per_s') else f"{t_ref / o:.2f}×" if k0 in ('sample_s', 'median_step_s', 'median_step_cpu_s') else ''
        lines.append(f"{name:36s} {fmt.format(o) if o is not None else '-':>12s} {fmt.format(t) if t is not None else '-':>18s} {ratio:>8s}")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--budget', type=float, default=150, help='training wall-clock seconds per implementation (default 150)')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads for both (default 1: the 2 cores are shared)')
    p.add_argument('--sample-threads', type=int, default=None, help='sampling, timed alone, is also timed with this many threads (default: every core); the faster of 1 and this counts, per side')
    p.add_argument('--n-sample', type=int, default=100, help='drawings to sample (default 100)')
    p.add_argument('--sample-repeats', type=int, default=3, help='time sampling this many times per side, same seeds; the best counts (default 3)')
    p.add_argument('--only', choices=['ours', 'peer'], help='run one side only')
    p.add_argument('--ours-bf16', action='store_true', help="train ours with TrainConfig(cpu_bf16=True): bfloat16 matrix products summed in float32 (the port stays float32)")
    p.add_argument('--sequential', action='store_true', help='run the two sides one after the other (default: both at once, '
                   'so that they share whatever else loads the machine)')
    p.add_argument('--child', choices=['ours', 'peer'], help=argparse.SUPPRESS)
    p.add_argument('--data', help=argparse.SUPPRESS)
    p.add_argument('--sync', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        r = (child_ours if a.child == 'ours' else child_peer)(a, Path(a.data))
        print('RESULT ' + json.dumps(r)); return
    tmp = Path(tempfile.mkdtemp())
    data = prepare(tmp)
    sides = [x for x in ['ours', 'peer'] if not a.only or x == a.only]
    env = {**os.environ, 'SINGLELINE_QUIET': '1', 'OMP_NUM_THREADS': str(a.threads)}
    cmds = {x: [sys.executable, __file__, '--child', x, '--data', str(data), '--budget', str(a.budget),
                '--threads', str(a.threads), '--n-sample', str(a.n_sample), '--sample-threads', str(a.sample_threads or os.cpu_count() or 1), '--sample-repeats', str(a.sample_repeats)] + (['--ours-bf16'] if a.ours_bf16 else [])
                + ([] if a.sequential or len(sides) < 2 else ['--sync', str(tmp)]) for x in sides}
    res = run_sides(cmds, env, a.sequential)
    from readme import machine
    report = dict(args=vars(a), machine=machine(), results=res)
    print('\n'.join(table(report)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ('sketch_rnn_bf16.json' if a.ours_bf16 else 'sketch_rnn.json')).write_text(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
