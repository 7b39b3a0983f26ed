"""Benchmark of page filtering with the offline backend, and of embedding throughput against the bare forward pass.

    python benchmarks/embeddings.py                     # 300-page test book, 240-page labelled book, full-size scans
    python benchmarks/embeddings.py --pages 60 --train-pages 60 --epochs 4   # a quick look

1. Two synthetic sketchbooks (singleline.synth, different seeds and book numbers): a labelled one, sorted into one
   folder per page kind (drawing / watercolour / notes / blank / cover), and a test one. Cached in --data.
2. The offline page CNN is trained on the labelled book; both books are embedded with it; a probe (logistic
   regression on the labelled book's embeddings) keeps the 'drawing' pages of the test book. Also: k-means
   clusters of the test book labelled by their majority kind (what a person does with the cluster galleries).
   Precision and recall of the kept line-drawing pages against the synthetic truth.
3. Throughput, same run, same pages and batches: `embed_pages` from files (read + hash + decode in DataLoader
   workers, the CPU's cores shared between decoding and the model by `split_cores`) versus the bare forward pass over the already decoded batches, for the
   trained CNN, torchvision's resnet18 (1 channel, random init, as `arch='resnet18'`) and open_clip ViT-B-32 (the
   default CLIP architecture; random weights, as no weights can be downloaded here: speed does not depend on them).
   Beside each ratio, the best ratio ANY pipeline could reach on this machine: per page, the forward pass costs t_fwd of
   wall clock and f of CPU (all its threads), reading + hashing + decoding + preprocessing costs d of CPU (timed one page
   after another, this thread's CPU clock); C cores can do no better than max(t_fwd, (f + d) / C) per page, so the bound is
   t_fwd / max(t_fwd, (f + d) / C), and 0.9 (f + d) / t_fwd cores would let the ratio reach 0.9 at this thread count.

Prints a table and writes benchmarks/results/embeddings.json.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import numpy as np
import torch

os.environ.setdefault('SINGLELINE_QUIET', '1')
from singleline.scans import write_sketchbook
from singleline.core import list_images, BatchReport
from singleline.embeddings import (CnnConfig, load_cnn, EmbedConfig, ClipBackend, CnnBackend, PageCNN, train_page_cnn, labelled_pages,
                                   embed_pages, page_loader, _Pages)
from singleline.page_rules import train_probe, cluster_pages

def book(folder, pages, seed, number, width, height, labelled):
    "Write (or reuse) a synthetic sketchbook; a labelled one is sorted into one folder per kind."
    folder = Path(folder)
    truth_path = folder/'truth.json'
    if truth_path.exists():
        t = json.loads(truth_path.read_text())
        if len(t['pages']) == pages and t['pages'][0].get('width') == width: return t
    raw = folder/'raw' if labelled else folder
    t = write_sketchbook(raw, pages=pages, seed=seed, book=number, width=width, height=height, progress=False)
    if labelled:
        for p in t['pages']:
            (folder/p['kind']).mkdir(parents=True, exist_ok=True)
            (raw/p['file']).replace(folder/p['kind']/p['file'])
        (raw/'truth.json').replace(truth_path)
    return t

def precision_recall(kept, truth):
    kept, truth = np.asarray(kept, bool), np.asarray(truth, bool)
    tp = int((kept & truth).sum())
    return tp / max(int(kept.sum()), 1), tp / max(int(truth.sum()), 1), int((kept & ~truth).sum()), int((~kept & truth).sum())

def throughput(files, backend, batch_size, workers, repeats=5):
    """Pages/s of `embed_pages` from files, and of the bare forward pass over the very batches it feeds the model.

    Both run in this process with the same torch thread count, after a warm-up (every batch shape through the model once, one
    untimed `embed_pages`), timed the same way (wall clock around the whole loop), interleaved, best of `repeats`; also the
    median over repeats of the paired ratio (each `embed_pages` run against the bare run just before it)."""
    batches = [x for _, _, _, _, x in page_loader(files, backend, batch_size, num_workers=0)]       # the same batches, decoded once
    n = sum(len(x) for x in batches)
    cfg = EmbedConfig(batch_size=batch_size, workers=workers, cache=False)
    for x in batches: backend.encode(x)                                                               # warm-up
    embed_pages(files, backend, cfg)
    bare, pipe, fwd_cpu, infos = [], [], [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        for x in batches: backend.encode(x)
        bare.append(n / (time.perf_counter() - t)); fwd_cpu.append((time.process_time() - c) / n)
        t = time.perf_counter()
        r = BatchReport(); e = embed_pages(files, backend, cfg, r)
        pipe.append(len(e) / (time.perf_counter() - t)); infos.append(r.info)
    assert len(e) == n
    pages = _Pages([str(f) for f in files], backend, frozenset())
    dec = []
    for _ in range(min(repeats, 3)):                                   # read + hash + decode + preprocess, one page after another, in this thread
        c = time.thread_time()                                          # (the process's clock would also count OpenMP threads spinning after the forward pass)
        for i in range(len(pages)): pages[i]
        dec.append((time.thread_time() - c) / len(pages))
    t_fwd, f, d, C = 1 / max(bare), float(np.median(fwd_cpu)), min(dec), os.cpu_count() or 1
    return {'pipeline': max(pipe), 'bare': max(bare), 'pipeline_runs': pipe, 'bare_runs': bare, 'decode_cpu_ms': d * 1e3, 'forward_cpu_ms': f * 1e3,
            'bound': t_fwd / max(t_fwd, (f + d) / C), 'cores_for_0.9': 0.9 * (f + d) / t_fwd,
            'paired_median': float(np.median(np.array(pipe) / np.array(bare))), 'workers': infos[int(np.argmax(pipe))]['workers'], 'threads': infos[int(np.argmax(pipe))]['threads'], 'splits': infos}

def table(report:dict) -> list:
    "The benchmark's table, as lines, from its JSON report (`args` and `results`)."
    r = report['results']
    c = r['cnn']
    lines = [f"synthetic books: labelled {r['train_pages']} pages, test {r['pages']} pages ({r['drawings']} drawings), {r['width']}×{r['height']} JPEG",
             f"page CNN: {c['arch']}, {c['image_size']} px grayscale, {c['epochs']} epochs, trained in {c['train_seconds']:.0f} s; final training accuracy {c['history'][-1]['accuracy']:.3f}", '',
             f"{'filter':<34}{'precision':>10}{'recall':>9}{'false +':>9}{'false -':>9}"]
    for name, p in (('probe (logistic regression)', r['probe']), ('k-means 8 clusters, majority label', r['clusters'])):
        lines.append(f"{name:<34}{p['precision']:>10.3f}{p['recall']:>9.3f}{p['false_positives']:>9d}{p['false_negatives']:>9d}")
    lines += [f"probe confusions: {', '.join(r['probe_confusions']) or 'none'}; pages kept or dropped wrongly: {', '.join(r['probe_errors']) or 'none'}", '',
              f"{'throughput (pages/s, best of ' + str(len(r['throughput'][0]['pipeline_runs'])) + ')':<38}{'px':>5}{'pages':>7}{'thr+wkr':>8}{'embed_pages':>13}{'bare fwd':>10}{'ratio':>8}{'paired median':>15}"
              f"{'decode CPU ms':>15}{'fwd CPU ms':>12}{'bound here':>12}{'cores for 0.9':>15}"]
    for t in r['throughput']:
        lines.append(f"{t['model']:<38}{t['image_size']:>5}{t['pages']:>7}{str(t['threads']) + '+' + str(t['workers']):>8}{t['pipeline_pages_per_s']:>13.1f}{t['bare_forward_pages_per_s']:>10.1f}"
                     f"{t['ratio']:>8.3f}{t['paired_median_ratio']:>15.3f}{t['decode_cpu_ms']:>15.2f}{t['forward_cpu_ms']:>12.2f}{t['bound_this_machine']:>12.3f}{t['cores_for_ratio_0_9']:>15.1f}")
    lines.append(f"bound here: the best ratio any pipeline could reach with {r['cpus']} cores (decoding and the forward pass share them); "
                 f"cores for 0.9: how many would let it reach 0.9")
    return lines

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--pages', type=int, default=300, help='pages of the test sketchbook')
    ap.add_argument('--train-pages', type=int, default=240, help='pages of the labelled sketchbook')
    ap.add_argument('--width', type=int, default=1500); ap.add_argument('--height', type=int, default=2000)
    ap.add_argument('--epochs', type=int, default=CnnConfig.epochs)
    ap.add_argument('--image-size', type=int, default=CnnConfig.image_size)
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--workers', type=int, default=None, help='DataLoader workers (default: embed_pages default, `default_workers`)')
    ap.add_argument('--throughput-pages', type=int, default=96, help='pages for the resnet18 and ViT-B-32 throughput rows')
    ap.add_argument('--data', default=os.path.expanduser('~/.cache/singleline/bench/embeddings'))
    ap.add_argument('--cnn', help='use this page CNN checkpoint (written by an earlier run of this script) instead of training one')
    ap.add_argument('--out', default=None, help='the JSON report (default benchmarks/results/embeddings.json)')
    a = ap.parse_args()
    torch.manual_seed(0)
    data = Path(a.data)
    t0 = time.perf_counter()
    train_truth = book(data/f'train-{a.train_pages}-{a.width}', a.train_pages, 101, 12, a.width, a.height, labelled=True)
    test_truth = book(data/f'test-{a.pages}-{a.width}', a.pages, 202, 44, a.width, a.height, labelled=False)
    t_synth = time.perf_counter() - t0
    test_dir = data/f'test-{a.pages}-{a.width}'
    kinds = {p['file']: p['kind'] for p in test_truth['pages']}
    test_files = sorted(test_dir.glob('*.jpg'))

    t = time.perf_counter()
    if a.cnn: cnn = load_cnn(a.cnn); t_train = float('nan')        # reused: its training time is that earlier run's
    else: cnn = train_page_cnn(data/f'train-{a.train_pages}-{a.width}', CnnConfig(epochs=a.epochs, image_size=a.image_size))
    t_train = time.perf_counter() - t if not a.cnn else t_train
    cfg = EmbedConfig(batch_size=a.batch_size, workers=a.workers, cache=False)
    tr_files, tr_labels = labelled_pages(data/f'train-{a.train_pages}-{a.width}')
    tr = embed_pages(tr_files, cnn, cfg)
    te = embed_pages(test_files, cnn, cfg)
    is_drawing = np.array([kinds[Path(f).name] == 'drawing' for f in te.files])
    probe = train_probe(tr, tr_labels, include='drawing')
    p_probe = precision_recall(probe.keep(te), is_drawing)
    names = np.array(probe.names)[probe.assign(te)]
    confusions = sorted({f"{kinds[Path(f).name]}→{n}" for f, n in zip(te.files, names) if n != kinds[Path(f).name]})
    kept = probe.keep(te)
    probe_errors = [f"{Path(f).name} ({kinds[Path(f).name]}→{n})" for f, n, k, d in zip(te.files, names, kept, is_drawing) if k != d]
    cnn.save(data/f'cnn-{a.train_pages}-{a.width}-{a.epochs}.pt')
    rules = cluster_pages(te, k=8)
    c = rules.assign(te)
    rules.include = [bool(is_drawing[c == k].mean() > 0.5) if (c == k).any() else False for k in range(len(rules.names))]
    p_clusters = precision_recall(rules.keep(te), is_drawing)

    rows = []                                                          # (model, px, pages, throughput dict)
    rows.append(('page CNN small (trained)', a.image_size, len(test_files), throughput(test_files, cnn, a.batch_size, a.workers)))
    sub = test_files[:a.throughput_pages]
    cfg_r = CnnConfig(arch='resnet18', image_size=a.image_size)
    r18 = CnnBackend(PageCNN(5, 'resnet18', cfg_r.embed_dim), ['a', 'b', 'c', 'd', 'e'], cfg_r, 'cpu')
    rows.append(('resnet18 (random init)', a.image_size, len(sub), throughput(sub, r18, a.batch_size, a.workers)))
    import open_clip, logging
    logging.getLogger().setLevel(logging.ERROR)
    m, _, pre = open_clip.create_model_and_transforms('ViT-B-32', pretrained=None)
    vit = ClipBackend(m.eval(), pre, None, 'bench:ViT-B-32', 'cpu')
    rows.append(('open_clip ViT-B-32 (random weights)', vit.size, len(sub), throughput(sub, vit, a.batch_size, a.workers)))

    res = {'pages': a.pages, 'train_pages': a.train_pages, 'drawings': int(is_drawing.sum()), 'width': a.width, 'height': a.height,
           'cnn': {'arch': cnn.config.arch, 'image_size': a.image_size, 'epochs': a.epochs, 'train_seconds': t_train, 'history': cnn.history},
           'probe': dict(zip(('precision', 'recall', 'false_positives', 'false_negatives'), p_probe)), 'probe_confusions': confusions, 'probe_errors': probe_errors,
           'clusters': dict(zip(('precision', 'recall', 'false_positives', 'false_negatives'), p_clusters)),
           'throughput': [dict(model=n, image_size=px, pages=k, pipeline_pages_per_s=r['pipeline'], bare_forward_pages_per_s=r['bare'], ratio=r['pipeline'] / r['bare'],
                           pipeline_runs=r['pipeline_runs'], bare_runs=r['bare_runs'], paired_median_ratio=r['paired_median'], workers=r['workers'], threads=r['threads'], splits=r['splits'],
                           decode_cpu_ms=r['decode_cpu_ms'], forward_cpu_ms=r['forward_cpu_ms'], bound_this_machine=r['bound'], cores_for_ratio_0_9=r['cores_for_0.9'])
                      for n, px, k, r in rows],
           'synth_seconds': t_synth, 'torch_threads': torch.get_num_threads(), 'cpus': os.cpu_count(), 'arch': platform.machine()}
    from readme import machine
    report = dict(args=vars(a), machine=machine(), results=res)
    print()
    print('\n'.join(table(report)))
    out = Path(a.out or Path(__file__).parent/'results'/'embeddings.json')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out}")

if __name__ == '__main__': main()
