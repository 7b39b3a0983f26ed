"""The artist's SketchRNN port (singleline-models 0.0.2) trained to a time limit and measured as singleline's models are.

Used by `python benchmarks/converge.py --mode conditional --peer`, which trains it beside our conditional SketchRNN for the
same minutes, one torch thread each, at once. The port trains with its own `Trainer.step` (its defaults: encoder 256,
decoder 512 layer-norm LSTM, z 128, M 20, batch 100, Adam 1e-3, KL weight 0.5, random scale 0.15 and stroke dropping 0.1
as augmentation), on the same training drawings (at most N_max = 250 points, as ours). Every `--peer-valid-every` steps it
is validated and its best state (lowest validation L_R) kept; at the end that state is evaluated by
`singleline.evaluate.evaluate_model`, through `PortSketchRNN`, which puts the port's encoder and decoder behind the
`DrawingModel` interface: the same L_R definition, the same samplers (`sketch_rnn.generate`, batched), the same drawing CNN,
classifier and halves as for our models.

Install the peer: pip install --no-deps --target /work/peers/slm singleline-models==0.0.2 einops==0.8.2 fastprogress==1.0.3
(SLM_PATH elsewhere). Its trainer imports wandb, unused with use_wandb=False: an empty module stands in for it.
"""
import os, sys, io, time, json, types, contextlib, tempfile
from pathlib import Path
import numpy as np
import torch

PEER = os.environ.get('SLM_PATH', '/work/peers/slm')


def import_port():
    sys.path.insert(0, PEER)
    sys.modules.setdefault('wandb', types.ModuleType('wandb'))
    from singleline_models.sketch_rnn.trainer import SketchRNNModel, Trainer
    return SketchRNNModel, Trainer


def make_port_wrapper():
    "The class `PortSketchRNN`, made once our package is importable."
    from singleline.sketch_rnn import DrawingModel, HParams, reconstruction_loss, kl_loss, START_TOKEN
    from singleline.core import SinglelineError

    class PortSketchRNN(DrawingModel):
        "The port's `SketchRNNModel` (its encoder and decoder, sequence-first) seen as a singleline `DrawingModel`."
        name = 'singleline-models 0.0.2'
        def __init__(self, port, max_seq_len:int):
            super().__init__()
            self.port = port
            self.hp = HParams.paper(max_seq_len=max_seq_len, conditional=True, z_size=port.hp.d_z, num_mixture=port.hp.n_distributions)

        @staticmethod
        def _mixture(dist, q_log) -> dict:
            "The port's mixture (sequence-first) as ours: batch-first tensors of logits, means, log sigmas and rho."
            tb = lambda v: v.transpose(0, 1)
            return dict(q_logits=tb(q_log), pi_logits=tb(dist.pi_logits), mu_x=tb(dist.mu_x), mu_y=tb(dist.mu_y),
                        log_sigma_x=tb(dist.sigma_x).log(), log_sigma_y=tb(dist.sigma_y).log(),
                        rho_xy=tb(dist.rho_xy).clamp(-1 + 1e-6, 1 - 1e-6))

        def encode(self, S5, lengths, sample:bool=True):
            z, mu, sigma_hat = self.port.encoder(S5.transpose(0, 1))                  # reads the whole padded sequence, as it trains
            return (z if sample else mu), mu, sigma_hat

        def _decode(self, S5, z):
            x = S5.transpose(0, 1)                                                    # (N_max + 1, B, 5)
            inputs = torch.cat([x[:-1], z.unsqueeze(0).expand(x.shape[0] - 1, -1, -1)], 2)
            dist, q_log, _ = self.port.decoder(inputs, z, None)
            return self._mixture(dist, q_log)                                         # (B, N_max, .) each

        def forward(self, batch, step:int=0) -> dict:
            S5, lengths = batch
            z, mu, sigma_hat = self.encode(S5, lengths)
            L_s, L_p = reconstruction_loss(self._decode(S5, z), S5[:, 1:], lengths)
            L_KL = kl_loss(mu, sigma_hat)
            return dict(loss=L_s + L_p + self.port.hp.kl_div_loss_weight * L_KL, L_R=L_s + L_p, L_s=L_s, L_p=L_p, L_KL=L_KL)

        def next_point_mixtures(self, S5, lengths) -> dict:
            return self._decode(S5, self.encode(S5, lengths)[0])

        def start_sampling(self, n:int, z=None, prefix=None, precision:str='fp32', generator=None) -> tuple:
            if prefix is not None: raise SinglelineError("the port's model is not asked to continue drawings here")
            dev = self.port.decoder.init_state.weight.device
            if z is None: z = torch.randn(n, self.hp.z_size, generator=generator, device=dev)   # z ~ N(0, I)
            def step(x, state):
                hc, z = state
                dist, q_log, hc = self.port.decoder(torch.cat([x, z], 1)[None], z, hc)       # one step, (1, n, .)
                return {k: v[:, 0] for k, v in self._mixture(dist, q_log).items()}, (hc, z)
            return torch.tensor(START_TOKEN, dtype=torch.float32, device=dev).expand(n, 5), (None, z), step

        def keep_drawings(self, state, going):
            (h, c), z = state
            return (h[:, going], c[:, going]), z[going]

    return PortSketchRNN


def load_peer(run: Path) -> tuple:
    "The port's best state kept by `train_peer` (RUN/best.pt) as a `PortSketchRNN`, with its data scale and step."
    SketchRNNModel, _ = import_port()
    hp = SketchRNNModel.get_default_config()
    hp.dataset_fname, hp.max_seq_length = str(run / 'port_data.npz'), 250
    with contextlib.redirect_stdout(io.StringIO()):
        port = SketchRNNModel(hp, device='cpu')
    ck = torch.load(run / 'best.pt', weights_only=True)
    port.encoder.load_state_dict(ck['encoder']); port.decoder.load_state_dict(ck['decoder'])
    return make_port_wrapper()(port, 250), float(ck['scale']), int(ck['step'])


def train_peer(run: Path, data: Path, minutes: float, valid_every: int, threads: int, embedder: str) -> dict:
    "Train the port for `minutes` on DATA's train split; validate every `valid_every` steps; evaluate its best state."
    from singleline.data import load_npz, save_npz
    from singleline.evaluate import evaluate_losses, evaluate_model, EvaluateConfig
    torch.set_num_threads(threads)
    SketchRNNModel, Trainer = import_port()
    PortSketchRNN = make_port_wrapper()
    run.mkdir(parents=True, exist_ok=True)
    splits = load_npz(data)
    keep = lambda ds: [np.asarray(d, np.float32) for d in ds if len(d) <= 250]
    port_data = save_npz(run / 'port_data.npz', {'train': keep(splits['train']), 'valid': keep(splits['valid'])})
    hp = SketchRNNModel.get_default_config()
    hp.dataset_fname, hp.max_seq_length = str(port_data), 250
    torch.manual_seed(0); np.random.seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        port = SketchRNNModel(hp, device='cpu')
        tr = Trainer(port, hp, device='cpu', models_dir=tempfile.mkdtemp())
    scale = float(tr.train_dataset.scale)
    model = PortSketchRNN(port, 250)
    valid = splits['valid']
    train_csv, valid_csv = open(run / 'train.csv', 'w'), open(run / 'valid.csv', 'w')
    train_csv.write('step,time,L_KL,L_R\n'); valid_csv.write('step,time,L_KL,L_R\n')
    best, best_step, step, t0, acc = float('inf'), 0, 0, time.time(), []
    it = iter(tr.train_loader)

    def validate():
        nonlocal best, best_step
        r = evaluate_losses(model, valid, scale, seed=0)
        valid_csv.write(f"{step},{time.time():.1f},{r['L_KL']:.6g},{r['L_R']:.6g}\n"); valid_csv.flush()
        if r['L_R'] < best:
            best, best_step = r['L_R'], step
            torch.save(dict(encoder=port.encoder.state_dict(), decoder=port.decoder.state_dict(), step=step, scale=scale), run / 'best.pt')

    while (time.time() - t0) / 60 < minutes:
        try: batch = next(it)
        except StopIteration: it = iter(tr.train_loader); batch = next(it)
        loss, L_R, L_KL, _ = tr.step(batch, is_training=True)
        step += 1; acc.append((L_R, L_KL))
        if step % 20 == 0:
            m = np.mean(acc, 0); acc = []
            train_csv.write(f"{step},{time.time():.1f},{m[1]:.6g},{m[0]:.6g}\n"); train_csv.flush()
        if step % valid_every == 0: validate()
    minutes_spent = (time.time() - t0) / 60
    if step % valid_every: validate()
    ck = torch.load(run / 'best.pt', weights_only=True)
    port.encoder.load_state_dict(ck['encoder']); port.decoder.load_state_dict(ck['decoder'])
    ev = evaluate_model(model, scale, data, EvaluateConfig(embedder=embedder, seed=0), run, run=str(run / 'best.pt'), step=best_step)
    train_csv.close(); valid_csv.close()
    from converge import curves
    return dict(mode='peer', impl=PortSketchRNN.name, run=str(run), steps=step, minutes=minutes_spent, stopped='time limit', curves=curves(run),
                best_valid_L_R=best, best_step=best_step, n_train=len(tr.train_dataset), left_out=len(splits['train']) - len(tr.train_dataset),
                hparams={k: getattr(hp, k) for k in dir(hp) if not k.startswith('_') and isinstance(getattr(hp, k), (int, float, str, bool))}, evaluation=ev)
