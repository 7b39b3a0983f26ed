"""Build the docs site offline: nbdev's processing of the notebooks, then Sphinx + myst-nb.

`bash .ci/docs` runs this. Three steps, each in its own function:

1. `process`: nbdev's own notebook processing, as `nbdev.serve.proc_nbs` does it for Quarto
   (`FilterDefaults`: frontmatter, `show_doc` cells added after exported cells and executed,
   `#| hide` / `#| export` cells removed, doc links added), into `_proc/`. One change to
   nbdev's list: exported definitions are treated as nbdev's `#| exports` (their code is
   shown under "Exported source" after the `show_doc`), because the site shows the code of
   exported functions. An error in a notebook stops the build, as `nbdev_docs` would stop
   (`--keep-going` builds the rest and reports it).
2. `convert`: the glue no engine has. It turns what nbdev leaves for Quarto into what myst-nb
   reads: the YAML front matter becomes the page's title and description; the remaining
   `#|` options (`echo: false`, `output: asis`, `code-fold`, `code-summary`, `include`,
   `output`) become myst-nb cell tags and metadata; links to the published site
   (`doc_host` + `doc_baseurl`) become links between the local pages; Pandoc link attributes
   (`[source](...){target=...}`) become HTML. Pages are named by nbdev's `output-file`
   (`00_core.ipynb` -> `core.html`, as on the Quarto site), and the home page gets the
   sidebar's table of contents: every notebook in the order nbdev's sidebar lists them.
3. `build`: `sphinx-build` with `.ci/sphinx/conf.py` into `_docs/`.
"""
import argparse, json, os, re, shutil, subprocess, sys, time, yaml
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROC = ROOT/'_proc'          # nbdev's processed notebooks, exactly what Quarto would render
SRC = PROC/'_sphinx'         # what myst-nb reads (the glue's output)
CONF = ROOT/'.ci'/'sphinx'   # Sphinx's conf.py and static files


# ---------------------------------------------------------------------------------------------
# 1. nbdev's processing
def _docs_filter():
    "nbdev's `FilterDefaults`, with exported definitions shown like `#| exports` cells."
    import ast
    from fastcore.basics import str2bool
    from nbdev.processors import FilterDefaults, exec_show_docs, add_show_docs, _do_eval, _show_docs
    from nbdev.process import Processor

    class show_exported(Processor):
        "An `#| export` cell that defines a function or class is documented as `#| exports`."
        def cell(self, cell):
            d = getattr(cell, 'directives_', None)
            if cell.cell_type != 'code' or not d or 'export' not in d or 'hide' in d: return
            try: tree = ast.parse(cell.source)
            except SyntaxError: return
            if any(isinstance(o, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for o in tree.body):
                d['exports'] = d.pop('export')

    class exec_show_docs_imports(exec_show_docs):
        """nbdev's `exec_show_docs`, except that of a cell that mixes imports with other code only
        the imports run (nbdev's FAQ asks for imports in cells of their own; nbdev runs such a
        cell whole, out of the notebook's order, and replaces its stored outputs). With
        `keep_going`, an error is reported and the cell keeps its outputs."""
        keep_going, errors = False, []
        def __call__(self, cell):
            if not self.nb.has_docs_ or not hasattr(self, 'k'): return
            fm = getattr(self.nb, 'frontmatter_', {})
            if str2bool(fm.get('skip_showdoc', False)) or not _do_eval(cell): return
            trees, outs = cell.parsed_() or [], cell.get('outputs')   # the cell's top-level statements
            mixed = not (cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'}) and not _show_docs(trees) \
                and any(not isinstance(o, (ast.Import, ast.ImportFrom)) for o in trees)
            if mixed:
                imps = [ast.unparse(o) for o in trees if isinstance(o, (ast.Import, ast.ImportFrom))]
                if imps: self.k.run('\n'.join(imps))
            else: self.k.cell(cell)
            if self.k.exc:
                title, exc = fm.get('title', ''), self.k.exc
                msg = f"Error in notebook: {title} in cell {cell.idx_}:\n{cell.source}\n-> {type(exc).__name__}: {exc}"
                if not self.keep_going: raise Exception(msg) from exc
                self.errors.append(msg)
                if outs is not None: cell['outputs'] = outs
                self.k.exc = None

    class DocsFilter(FilterDefaults):
        def base_procs(self):
            procs = [exec_show_docs_imports if p is exec_show_docs else p for p in super().base_procs()]
            return procs[:procs.index(add_show_docs)] + [show_exported] + procs[procs.index(add_show_docs):]
    return DocsFilter, exec_show_docs_imports


def _proc_one(job):
    "Process one notebook (in a worker process); return the errors it met."
    src, dst, keep_going = job
    os.environ['IN_TEST'] = '1'             # as nbdev's serve_drv does
    import warnings   # nbdev's FAQ warning on cells that mix imports and code: it runs them, fine unless they fail
    warnings.filterwarnings('ignore', message='Found cells containing imports')
    from execnb.nbio import read_nb, write_nb
    DocsFilter, ex = _docs_filter()
    ex.keep_going, ex.errors = keep_going, []
    nb = read_nb(src)
    try: DocsFilter()(nb)
    except Exception as e: return [f"{src.name}: {e}"]
    write_nb(nb, dst)
    return [f"{src.name}: {o}" for o in ex.errors]


def notebooks():
    "The notebooks nbdev's sidebar would list, in its order (index first)."
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    nbs = get_config().nbs_path
    files = sorted(nbglob(nbs, func=Path, skip_folder_re=r'(?:^[_.]|^www$)'), key=lambda p: p.relative_to(nbs).as_posix())
    files = [f for f in files if f.suffix == '.ipynb']
    return sorted(files, key=lambda p: p.name != 'index.ipynb'), nbs


def process(force=False, keep_going=False, n_workers=2):
    "Run nbdev's processors over the notebooks into `_proc/` (cached by modification time)."
    from fastcore.parallel import parallel
    files, nbs = notebooks()
    # the cache holds while settings.ini, nbdev and this file's processing code are unchanged
    import hashlib, inspect, nbdev
    stamp, key = PROC/'.docs_stamp', hashlib.sha1((inspect.getsource(_docs_filter) + inspect.getsource(_proc_one) + nbdev.__version__
                                                   + (ROOT/'settings.ini').read_text()).encode()).hexdigest()
    if not stamp.exists() or stamp.read_text() != key: force = True
    jobs = []
    for f in files:
        d = PROC/f.relative_to(nbs)
        if not force and d.exists() and d.stat().st_mtime >= f.stat().st_mtime: continue
        d.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((f, d, keep_going))
    for stale in PROC.glob('**/*.ipynb'):   # a notebook that was renamed or removed
        if SRC in stale.parents: continue
        if not (nbs/stale.relative_to(PROC)).exists(): stale.unlink()
    print(f"docs: nbdev processes {len(jobs)} of {len(files)} notebooks", flush=True)
    errors = []
    if jobs:
        import docs_build   # by module name: IPython replaces a worker's __main__, so `__main__._proc_one` is lost
        res = parallel(docs_build._proc_one, jobs, n_workers=min(n_workers, len(jobs)), method='spawn', pause=0.01)
        errors = [e for r in res for e in r]
    PROC.mkdir(exist_ok=True)
    if not errors: stamp.write_text(key)
    return [PROC/f.relative_to(nbs) for f in files], errors


# ---------------------------------------------------------------------------------------------
# 2. the glue: what nbdev leaves for Quarto -> what myst-nb reads
def _site_prefix():
    "The published site's address, as nbdev writes it into doc links."
    from nbdev.config import get_config
    cfg = get_config()
    return cfg.doc_host.rstrip('/') + '/' + (cfg.doc_baseurl.strip('/') + '/' if cfg.doc_baseurl.strip('/') else '')


def _anchor(a):
    "Quarto's heading id (`AffineAugment.__call__` -> `affineaugment.__call__`) -> Sphinx's."
    from docutils.nodes import make_id
    return make_id(a)


def _relink(md, prefix, ids=None):
    "Links to the published site -> links between local pages; Pandoc link attributes -> HTML."
    import html
    site = re.escape(prefix)
    # inside code blocks (show_doc's signatures with docments) a markdown link is literal text: keep the name
    def code(m): return re.sub(r'\[(`[^`\]]+`)\]\(' + site + r'[^)\s]*\)', r'\1', m.group(0))
    md = re.sub(r'```.*?```', code, md, flags=re.S)
    # [`name`](https://host/base/core.html#name), [joining](joining.html), [x](30_joining.ipynb#a)
    # -> <a href="core.html#name-id"><code>name</code></a>: written in HTML,
    # because myst would take a relative link for a cross-reference to look up, not an address
    def local(m):
        text, (page, _, frag) = m.group(1), m.group(2).partition('#')
        if page.endswith('.ipynb'): page = re.sub(r'^\d+[a-zA-Z0-9]*_', '', page[:-len('.ipynb')]) + '.html'   # as Quarto does
        text = re.sub(r'`([^`]*)`', lambda c: f'<code>{html.escape(c.group(1))}</code>', text)
        # nbdev links every symbol, also methods and names without a show_doc: a missing heading
        # falls back to the class's (`CNNBackend.save` -> `CNNBackend`), else to the page
        while frag and ids is not None and page in ids and _anchor(frag) not in ids[page]: frag = frag.rpartition('.')[0]
        return f'<a class="reference internal" href="{page}{"#" + _anchor(frag) if frag else ""}">{text}</a>'
    md = re.sub(r'(?<!!)\[([^\]]*)\]\((?:' + site + r')?([\w.-]+\.(?:html|ipynb)(?:#[^)\s]*)?)\)', local, md)
    # [text](url){target="_blank" style="..."}: myst keeps only ids and classes, so write the link in HTML
    def attrs(m):
        text, url, at = m.group(1), m.group(2), m.group(3)
        kv = ' '.join(f'{k}="{v}"' for k, v in re.findall(r'([\w-]+)="([^"]*)"', at))
        return f'<a href="{url}" {kv}>{html.escape(text)}</a>'
    return re.sub(r'\[([^\]]*)\]\(([^)\s]+)\)\{([^}]*)\}', attrs, md)


_re_opt = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

def _options(src):
    "Split `#| key: value` lines off the top of a code cell."
    lines, opts = src.splitlines(), {}
    while lines and (m := _re_opt.match(lines[0])):
        opts[m.group(1)] = m.group(2).strip('"\'')
        lines.pop(0)
    return opts, '\n'.join(lines)


def _code_cell(cell):
    "Quarto's cell options -> myst-nb tags and metadata."
    opts, cell['source'] = _options(''.join(cell['source']))
    tags, md = set(cell['metadata'].get('tags', [])), cell['metadata']
    def false(k): return opts.get(k, '').lower() == 'false'
    if false('echo'): tags.add('remove-input')
    if false('output'): tags.add('remove-output')
    if false('include'): tags.add('remove-cell')
    if opts.get('code-fold', 'false').lower() in ('true', 'show'):
        tags.add('hide-input')
        md.setdefault('mystnb', {})['code_prompt_show'] = opts.get('code-summary', 'Code')
        md['mystnb']['code_prompt_hide'] = opts.get('code-summary', 'Code')
        if opts['code-fold'].lower() == 'show': tags.add('fold-open')   # opened on load by site.js
    if tags: md['tags'] = sorted(tags)
    return cell


def _frontmatter(cell):
    src = ''.join(cell['source']).strip()
    if cell['cell_type'] != 'raw' or not src.startswith('---'): return None
    return yaml.safe_load(src.strip('-\n')) or {}


def convert(procd):
    "Write the notebooks myst-nb reads into `_proc/_sphinx/`; return [(page, title)]."
    if SRC.exists(): shutil.rmtree(SRC)
    SRC.mkdir(parents=True)
    prefix, pages, loaded = _site_prefix(), [], []
    for p in procd:
        if not p.exists(): continue
        nb = json.loads(p.read_text(encoding='utf-8'))
        cells, fm = nb['cells'], {}
        if cells and (f := _frontmatter(cells[0])) is not None: fm, cells = f, cells[1:]
        name = Path(fm.get('output-file') or re.sub(r'^\d+[a-zA-Z0-9]*_', '', p.stem)).stem
        if p.stem == 'index': name = 'index'
        loaded.append((p, nb, cells, fm, name))
    ids = {}   # the headings of each page (show_doc's included), for links to them
    for p, nb, cells, fm, name in loaded:
        md = [''.join(c.get('source', '')) for c in cells if c['cell_type'] == 'markdown']
        md += [''.join(o['data']['text/markdown']) for c in cells for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
        ids[name + '.html'] = {_anchor(re.sub(r'[`*]', '', h)) for m in md for h in re.findall(r'^#+\s+(.+?)\s*$', m, re.M)}
    for p, nb, cells, fm, name in loaded:
        title = fm.get('title') or p.stem
        head = f"# {title}\n"
        if fm.get('description'): head += "\n{.nbdev-description}\n" + ' '.join(str(fm['description']).split()) + "\n"
        out = [{'cell_type': 'markdown', 'metadata': {}, 'source': head}]
        for c in cells:
            src = ''.join(c.get('source', ''))
            if c['cell_type'] == 'markdown':
                if src.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
                c['source'] = _relink(src, prefix, ids)
            elif c['cell_type'] == 'code':
                c = _code_cell(c)
                for o in c.get('outputs', []):
                    if 'text/markdown' in o.get('data', {}):
                        md = _relink(''.join(o['data']['text/markdown']), prefix, ids)
                        if md.startswith('---\n'):   # show_doc's rule above each symbol: a CSS border here
                            md = md[4:].lstrip('\n')
                            c['metadata']['tags'] = sorted(set(c['metadata'].get('tags', [])) | {'nbdev-showdoc'})
                        o['data']['text/markdown'] = md
            elif c['cell_type'] == 'raw': continue
            out.append(c)
        keys = {'markdown': ('attachments',), 'code': ('outputs', 'execution_count'), 'raw': ()}
        nb['cells'] = [{'id': c.get('id') or f'c{i}', 'cell_type': c['cell_type'], 'metadata': c.get('metadata', {}),
                        'source': c.get('source', ''), **{k: c[k] for k in keys[c['cell_type']] if k in c}}
                       for i, c in enumerate(out)]   # valid nbformat 4.5: nbdev's own marks (has_sd) dropped
        nb['nbformat'], nb['nbformat_minor'] = 4, 5
        nb.setdefault('metadata', {}).pop('widgets', None)
        (SRC/f'{name}.ipynb').write_text(json.dumps(nb), encoding='utf-8')
        pages.append((name, title))
    # the sidebar: every page, in the order nbdev's sidebar.yml lists the notebooks
    others = [n for n, _ in pages if n != 'index']
    if (SRC/'index.ipynb').exists():
        nb = json.loads((SRC/'index.ipynb').read_text(encoding='utf-8'))
        toc = "```{toctree}\n:hidden:\n:maxdepth: 1\n\n" + '\n'.join(others) + "\n```"
        nb['cells'].append({'id': 'sidebar-toc', 'cell_type': 'markdown', 'metadata': {}, 'source': toc})
        (SRC/'index.ipynb').write_text(json.dumps(nb), encoding='utf-8')
    return pages


# ---------------------------------------------------------------------------------------------
# 3. Sphinx
def build(out, jobs=2):
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-j', str(jobs), '-c', str(CONF),
           '-d', str(PROC/'_doctrees'), str(SRC), str(out)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    warnings = [l for l in (r.stderr or '').splitlines() if l.strip()]
    if r.returncode: sys.exit(f"docs: sphinx-build failed:\n{r.stderr}{r.stdout}")
    return warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--force', action='store_true', help="process every notebook again (ignore the _proc/ cache)")
    ap.add_argument('--keep-going', action='store_true', help="build the site although a notebook failed nbdev's processing (the error is still reported)")
    ap.add_argument('--out', default=str(ROOT/'_docs'), help="where the site goes")
    args = ap.parse_args()
    t0 = time.time()
    os.chdir(ROOT)
    procd, errors = process(force=args.force, keep_going=args.keep_going)
    t1 = time.time()
    for e in errors: print(f"docs: nbdev's processing failed: {e}", file=sys.stderr)
    if errors and not args.keep_going:
        sys.exit("docs: a notebook failed nbdev's processing, so `nbdev_docs` would fail too. A cell that mixes imports "
                 "with other code is executed by show_doc's processor: put the imports in a cell of their own. "
                 "(--keep-going builds the site anyway.)")
    pages = convert(procd)
    out, html = Path(args.out), PROC/'_build'/'html'   # myst-nb writes jupyter_execute/ beside Sphinx's output folder
    for d in (out, html):
        if d.exists(): shutil.rmtree(d)
    warnings = build(html)
    shutil.move(html, out)
    for w in warnings: print(f"docs: sphinx: {w}", file=sys.stderr)
    print(f"docs: {len(pages)} pages in {out} (nbdev processing {t1 - t0:.0f} s, site {time.time() - t1:.0f} s); "
          f"open {out/'index.html'}", flush=True)
    if errors: sys.exit(1)


if __name__ == '__main__': main()
