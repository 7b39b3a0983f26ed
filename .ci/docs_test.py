"""Browser test of the docs site in _docs/ (built by `bash .ci/docs`), in headless Chromium.

Every page is opened twice, from the file system (file://) and served over HTTP on 127.0.0.1.
A page fails if it does not load, a script on it throws, a file it asks for is missing, an
<img> has no natural width, a link to a local page or file (or to a heading on it) leads
nowhere, or a raw `#|` directive or `show_doc(` call is visible. The sidebar of the home page
must reach one page per notebook; every notebook that exports code must show its API
(`show_doc`) and its exported source; the search must find a word; screenshots of the home
page and a model page must not be blank. Prints one line per failure and 'N passed, N failed'.

    python .ci/docs_test.py [--site _docs] [--shots _proc/docs_test]
"""
import argparse, functools, http.server, json, re, shutil, sys, threading, time
from pathlib import Path
from urllib.parse import urlparse, unquote

ROOT = Path(__file__).resolve().parent.parent
checks = {'passed': 0, 'failed': 0}


def check(ok, what):
    checks['passed' if ok else 'failed'] += 1
    if not ok: print(f"FAIL: {what}", flush=True)
    return ok


def find_chromium():
    for n in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        if p := shutil.which(n): return p


def expected_pages():
    "One page per notebook in nbs/, named as nbdev names them (00_core.ipynb -> core.html); with its notebook."
    pages = {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        if nb.name.startswith(('_', '.')): continue
        pages[re.sub(r'^\d+[a-zA-Z0-9]*_', '', nb.stem) + '.html'] = nb
    return pages


def exports_api(nb):
    "Does the notebook export a function or class (so its page must show API docs)?"
    for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'code' and re.match(r'\s*#\|\s*export\s*$', src.split('\n', 1)[0]) \
           and re.search(r'^(def|class) [A-Za-z]', src, re.M): return True
    return False


# what a page tells about itself, read in the browser
PAGE_JS = """async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => { i.loading = 'eager'; return i.decode().catch(() => null); }));
  const side = [...document.querySelectorAll('.sidebar-tree a.reference')].map(a => a.href);
  return {
    title: document.title,
    text: document.body.innerText,
    badImgs: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src),
    nImgs: imgs.length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    sidebar: side,
    showdocs: document.querySelectorAll('.tag_nbdev-showdoc').length,
    exported: [...document.querySelectorAll('.tag_fold-open details')].filter(d => d.open && /\\b(def|class) /.test(d.innerText)).length,
  };
}"""


def visit(page, url, problems):
    "Open `url`; return what PAGE_JS reports, or None if it did not load."
    problems.clear()
    try: resp = page.goto(url, wait_until='load', timeout=30000)
    except Exception as e:
        check(False, f"{url}: did not load ({e})"); return None
    if resp is not None and resp.status >= 400: check(False, f"{url}: HTTP {resp.status}")
    info = page.evaluate(PAGE_JS)
    page.wait_for_timeout(50)
    for p in problems: check(False, f"{url}: {p}")
    return info


def run(site, shots):
    from playwright.sync_api import sync_playwright
    pages = expected_pages()
    for name in pages: check((site/name).exists(), f"{name}: no page for notebook {pages[name].name}")
    check((site/'index.html').exists(), "index.html: no home page")
    all_pages = sorted({p.relative_to(site).as_posix() for p in site.glob('*.html')} | {'index.html'} | set(pages))
    prefix = ''
    ini = (ROOT/'settings.ini').read_text()
    if m := re.search(r'^doc_host\s*=\s*(\S+)', ini, re.M): prefix = m.group(1).rstrip('/')

    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bases = {'file': site.resolve().as_uri() + '/', 'http': f"http://127.0.0.1:{server.server_address[1]}/"}

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=['--disable-gpu'])
        for mode, base in bases.items():
            ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
            page = ctx.new_page()
            problems = []
            page.on('pageerror', lambda e: problems.append(f"script error: {e}"))
            external = set()
            def failed(r):
                if 'ERR_ABORTED' in (r.failure or ''): return              # aborted by leaving the page
                if not r.url.startswith(base): external.add(r.url.split('?')[0]); return   # offline: MathJax's CDN
                problems.append(f"failed to load {r.url} ({r.failure})")
            page.on('requestfailed', failed)
            page.on('response', lambda r: r.status >= 400 and problems.append(f"HTTP {r.status} for {r.url}"))
            seen, links = {}, []
            for name in all_pages:
                url = base + name
                info = visit(page, url, problems)
                if info is None: continue
                seen[name] = info
                check(not info['badImgs'], f"{mode} {name}: images without a natural width: {info['badImgs'][:5]}")
                for bad in ('#|', 'show_doc('):
                    i = info['text'].find(bad)
                    check(i < 0, f"{mode} {name}: {bad!r} visible: ...{info['text'][max(0, i - 60):i + 60]!r}...")
                links += [(name, l) for l in info['links']]
            # every local link leads to a file that exists, and to an element with its #id
            ext = 0
            for src, link in links:
                if not link.startswith(base):
                    ext += 1
                    check(not (prefix and link.startswith(prefix)), f"{mode} {src}: link to the published site instead of the local page: {link}")
                    continue
                u = urlparse(link[len(base):])
                target = unquote(u.path) or 'index.html'
                if not check((site/target).is_file(), f"{mode} {src}: broken link {link}"): continue
                if u.fragment and target in seen:
                    check(unquote(u.fragment) in seen[target]['ids'], f"{mode} {src}: link to a missing heading {link}")
            print(f"docs_test: {mode}: {len(seen)} pages, {sum(i['nImgs'] for i in seen.values())} images, "
                  f"{len(links) - ext} local links checked, {ext} external links not fetched (offline)"
                  + (f"; external files not loaded (offline): {sorted(external)}" if external else ''), flush=True)
            # the sidebar reaches every page; API docs and exported source where the notebook exports code
            if 'index.html' in seen:
                side = {unquote(urlparse(l[len(base):]).path) or 'index.html' for l in seen['index.html']['sidebar'] if l.startswith(base)}
                for name in pages:
                    if name != 'index.html': check(name in side, f"{mode}: the sidebar does not reach {name}")
            for name, nb in pages.items():
                if name in seen and exports_api(nb):
                    check(seen[name]['showdocs'] > 0, f"{mode} {name}: no show_doc API docs although {nb.name} exports code")
                    check(seen[name]['exported'] > 0, f"{mode} {name}: no exported source shown although {nb.name} exports code")
            # search (Sphinx's index: works from file:// too)
            page.goto(base + 'search.html?q=stroke', wait_until='load')
            try:
                page.wait_for_selector('#search-results li, .search li', timeout=15000)
                n = page.locator('#search-results li, .search li').count()
            except Exception: n = 0
            check(n > 0, f"{mode}: the search for 'stroke' found nothing")
            # screenshots of the home page and a model page: not blank
            if mode == 'file':
                shots.mkdir(parents=True, exist_ok=True)
                model = next((n for n in ('sketch_rnn.html', 'sketchformer.html') if n in seen), None)
                for name in ['index.html'] + ([model] if model else []):
                    page.goto(base + name, wait_until='load'); page.evaluate(PAGE_JS); page.wait_for_timeout(300)
                    png = shots/name.replace('.html', '.png')
                    page.screenshot(path=str(png), full_page=False)
                    check(not_blank(png), f"screenshot of {name} is blank ({png})")
                check(model is not None, "no model page (sketch_rnn.html) to screenshot")
            ctx.close()
        browser.close()
    server.shutdown()


def not_blank(png):
    "More than 3% of the pixels differ from the background and the picture has contrast."
    from PIL import Image, ImageStat
    im = Image.open(png).convert('L')
    hist = im.histogram()
    bg = max(range(256), key=lambda v: hist[v])
    off = sum(n for v, n in enumerate(hist) if abs(v - bg) > 24) / (im.width * im.height)
    return off > 0.03 and ImageStat.Stat(im).stddev[0] > 10


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--site', default=str(ROOT/'_docs'))
    ap.add_argument('--shots', default=str(ROOT/'_proc'/'docs_test'), help="where the screenshots go")
    a = ap.parse_args()
    site = Path(a.site)
    if not find_chromium(): sys.exit("docs_test: no Chromium found (Debian: apt-get install -y chromium)")
    if not (site/'index.html').exists(): sys.exit(f"docs_test: no site in {site}: run `bash .ci/docs` first")
    t0 = time.time()
    run(site, Path(a.shots))
    print(f"docs_test: {time.time() - t0:.0f} s; screenshots in {a.shots}")
    print(f"{checks['passed']} passed, {checks['failed']} failed")
    sys.exit(1 if checks['failed'] else 0)


if __name__ == '__main__': main()
