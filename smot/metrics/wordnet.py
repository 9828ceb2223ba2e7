"""Install the WordNet 3.0 data nltk's METEOR needs, offline, from Debian's packages.

PyPI has no package with the nltk WordNet corpus, and nltk's downloader needs the internet. Debian's
`wordnet-base` (data, index and exception files) and `wordnet-sense-index` (`index.sense`) hold the
same WordNet 3.0 database; neither ships `lexnames`, which is written here from the table in
Debian's lexnames(5WN) manual page. Used by `make wordnet`:

    python -m smot.metrics.wordnet .venv/nltk_data      # nltk looks in <venv>/nltk_data

Needs `apt-get` and `dpkg-deb` (Debian or Ubuntu); no root rights.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGES = ("wordnet-base", "wordnet-sense-index")
_LEXNAME = re.compile(r"^(\d\d)\t(\S+)")
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def lexnames(manual_page: str) -> str:
    """The `lexnames` file (`NN<TAB>name<TAB>category`) from the troff source of lexnames(5WN)."""
    lines = []
    for line in manual_page.splitlines():
        found = _LEXNAME.match(line)
        if found:
            number, name = found.groups()
            lines.append(f"{number}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n")
    if len(lines) != 45:
        raise ValueError(f"expected 45 lexicographer files in the manual page, found {len(lines)}")
    return "".join(lines)


def install(target: Path) -> Path:
    """Download the Debian packages, unpack them and lay out `<target>/corpora/wordnet`."""
    corpus = target / "corpora" / "wordnet"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(["apt-get", "download", *PACKAGES], cwd=work, check=True)
        root = work / "root"
        for deb in sorted(work.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        data = root / "usr" / "share" / "wordnet"
        page = root / "usr" / "share" / "man" / "man5" / "lexnames.5WN.gz"
        if not (data / "index.sense").is_file() or not page.is_file():
            raise FileNotFoundError(f"the packages {', '.join(PACKAGES)} did not hold the expected files")
        staging = corpus.with_name("wordnet.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for path in data.iterdir():
            shutil.copy2(path, staging / path.name)
        (staging / "lexnames").write_text(lexnames(gzip.decompress(page.read_bytes()).decode()))
        shutil.rmtree(corpus, ignore_errors=True)
        staging.rename(corpus)
    return corpus


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m smot.metrics.wordnet NLTK_DATA_FOLDER", file=sys.stderr)
        return 2
    try:
        corpus = install(Path(argv[0]))
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        print(f"smot wordnet: error: {e}", file=sys.stderr)
        return 1
    print(f"WordNet 3.0 installed in {corpus}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
