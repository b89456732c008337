"""An offline corpus of real English prose for pretraining: documents split into consecutive paragraph segments.

The default sources ship with every install of the project and need no download: the Python language reference
topics that `pydoc` shows (`pydoc_data.topics`) and the whole docstrings of the modules, classes and functions of
the standard library and of installed scientific packages, read with `ast` (nothing is imported or executed). A
reference topic keeps its prose paragraphs; a docstring keeps every paragraph of text, parameter and return
descriptions included, and drops code, doctests and directives (with `every_paragraph=True` it keeps every
blank-line paragraph as it is, code and doctests included); its section headings ("Parameters", "Returns",
"Args:") are dropped, or with `headings=True` kept at the start of their section's first paragraph (section order
is the discourse structure of the genre). Segments stay in their original order.
Extraction is deterministic for a given Python and set of package versions and is cached under
`helpers.core.results.cache_dir()`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import platform
import re
import sysconfig
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers.core.cache import verified
from helpers.core.params import require
from helpers.core.results import cache_dir, write_json_atomic

CORPUS_VERSION = 2  # bump when the extraction or filtering rules change: it invalidates the cache
DEFAULT_SOURCES = ("pydoc_topics", "stdlib", "numpy", "scipy", "pandas", "sklearn", "torch", "matplotlib")
PACKAGE_DISTRIBUTIONS = {
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "sklearn": "scikit-learn",
    "torch": "torch",
    "matplotlib": "matplotlib",
}
STDLIB_SKIP = {
    "test",
    "tests",
    "idlelib",
    "lib2to3",
    "site-packages",
    "dist-packages",
    "turtledemo",
    "__pycache__",
}
MIN_WORDS = 8
MIN_DOCSTRING_WORDS = 5
HEADING = "\0heading "

_UNDERLINE = re.compile(r"^\s*([=\-~*^#+\"'`])\1{2,}\s*$")
_FIELD = re.compile(r"^\s*(:[\w ]+:|@\w+|[\w*, ]+\s:\s|[\w*]+\s*\([\w ,.\[\]|]+\)\s*:)")
_GOOGLE_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises?|Attributes|Examples?|Example usage|Usage|"
    r"Keyword [Aa]rguments|Other [Pp]arameters|See [Aa]lso|References|Methods|Warns?|Todo|Note|Notes)\s*:\s*$"
)
_ROLE = re.compile(r":[\w:+-]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_INLINE = re.compile(r"``([^`]*)``|`([^`]*)`_*|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*")
_CITATION = re.compile(r"\s*\[[\w#*\d, -]+\]_?")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?$")


@dataclass(frozen=True)
class Document:
    """One document: an id, the group it belongs to (for the train/held-out split) and its prose segments."""

    doc_id: str
    group: str
    segments: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    """Training and held-out documents, split by group so that no module or topic is on both sides."""

    train: tuple[Document, ...]
    heldout: tuple[Document, ...]
    sources: tuple[str, ...]

    @property
    def documents(self) -> int:
        """Number of documents (training + held out)."""
        return len(self.train) + len(self.heldout)

    @property
    def segments(self) -> int:
        """Number of segments (paragraphs) over all documents."""
        return sum(len(d.segments) for d in (*self.train, *self.heldout))

    @property
    def words(self) -> int:
        """Number of whitespace-separated words over all segments."""
        return sum(len(s.split()) for d in (*self.train, *self.heldout) for s in d.segments)

    def texts(self, split: str = "train") -> list[str]:
        """All segments of one split ('train' or 'heldout'), in document order."""
        require(split in ("train", "heldout"), f"Unknown split {split!r}; use 'train' or 'heldout'.")
        docs = self.train if split == "train" else self.heldout
        return [s for d in docs for s in d.segments]


def clean_inline(text: str) -> str:
    """Strip reStructuredText / Markdown inline markup (roles, literals, emphasis, citations) and collapse spaces."""
    text = _ROLE.sub(lambda m: m.group(1), text)
    text = _INLINE.sub(lambda m: next(g for g in m.groups() if g is not None), text)
    text = _CITATION.sub("", text)
    return " ".join(text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').split())


def is_prose(lines: Sequence[str]) -> bool:
    """True for a paragraph of running English text: no code, doctest, table, field list or heading lines."""
    if not lines:
        return False
    base = len(lines[0]) - len(lines[0].lstrip())
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if indent > base + 1 and len(lines) > 1 and line is not lines[0]:
            return False  # an indented block inside the paragraph: code or a definition list
        if stripped.startswith((">>>", "...", "$ ", "|", "+-", "+=", "- ", "* ", "#", ".. ", "::", "{", "}")):
            return False
        if _UNDERLINE.match(line) or _FIELD.match(line) or "   " in stripped or "\t" in stripped:
            return False
    text = clean_inline(" ".join(line.strip() for line in lines))
    words = text.split()
    if len(words) < MIN_WORDS or not _SENTENCE_END.search(text) or not text[0].isupper():
        return False
    letters = sum(c.isalpha() or c.isspace() for c in text)
    if letters < 0.85 * len(text):
        return False
    codey = sum(1 for w in words if any(c in w for c in "=()[]{}_<>\\") or w.isupper() and len(w) > 1)
    return codey <= 0.15 * len(words)


def split_paragraphs(text: str) -> list[list[str]]:
    """Split text into paragraphs (lists of lines) at blank lines and at headings."""
    paragraphs: list[list[str]] = []
    current: list[str] = []
    lines = text.expandtabs(4).splitlines()
    for i, line in enumerate(lines):
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        heading = bool(line.strip()) and not _UNDERLINE.match(line) and bool(_UNDERLINE.match(next_line))
        if heading or not line.strip() or _UNDERLINE.match(line):
            if current:
                paragraphs.append(current)
            current = []
            if heading:
                paragraphs.append([HEADING + line.strip()])
            continue
        current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


def prose_segments(text: str) -> list[str]:
    """The prose paragraphs of a text (a reference page), in order: running text only."""
    return [
        clean_inline(" ".join(line.strip() for line in paragraph))
        for paragraph in split_paragraphs(text)
        if not paragraph[0].startswith(HEADING) and is_prose(paragraph)
    ]


def is_docstring_text(text: str) -> bool:
    """True for a cleaned docstring paragraph that reads as text: enough words, mostly letters, little code."""
    words = text.split()
    if len(words) < MIN_DOCSTRING_WORDS:
        return False
    letters = sum(c.isalpha() or c.isspace() for c in text)
    codey = sum(1 for w in words if any(c in w for c in "=()[]{}<>\\") or w.startswith("--"))
    return letters >= 0.75 * len(text) and codey <= 0.25 * len(words)


def docstring_segments(text: str, headings: bool = False, every_paragraph: bool = False) -> list[str]:
    """Every text paragraph of a whole docstring in order, parameter and return descriptions included; doctests,
    code and directives are dropped (kept as they are with `every_paragraph`: every blank-line paragraph, its lines
    joined), and so are section headings (numpy-style underlined, Google-style "Args:") unless `headings`, which
    puts each one at the start of the first kept paragraph of its section."""
    segments, heading = [], ""
    for paragraph in split_paragraphs(text):
        if paragraph[0].startswith(HEADING):
            heading = paragraph[0].removeprefix(HEADING)
            continue
        if every_paragraph:
            joined = " ".join(line.strip() for line in paragraph)
            segments.append(f"{heading}: {joined}" if headings and heading else joined)
            heading = ""
            continue
        if _GOOGLE_SECTION.match(paragraph[0]):
            heading, paragraph = paragraph[0].strip().removesuffix(":"), paragraph[1:]
        if not paragraph or any(line.lstrip().startswith((">>>", "...", "$ ")) for line in paragraph):
            continue
        lines = [line.strip() for line in paragraph if not line.lstrip().startswith((".. ", "::"))]
        cleaned = clean_inline(" ".join(lines).removesuffix("::"))
        if is_docstring_text(cleaned):
            segments.append(f"{heading}: {cleaned}" if headings and heading else cleaned)
            heading = ""
    return segments


def _docstrings(path: Path) -> Iterator[tuple[str, str]]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, kinds):
            doc = ast.get_docstring(node)
            if doc:
                yield getattr(node, "name", "<module>") + f"@{getattr(node, 'lineno', 0)}", doc


def _python_files(root: Path) -> list[Path]:
    files = [p for p in root.rglob("*.py") if not STDLIB_SKIP.intersection(p.relative_to(root).parts)]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def docstring_documents(
    root: Path, prefix: str, headings: bool = False, every_paragraph: bool = False
) -> list[Document]:
    """One document per docstring with at least two segments, grouped by module file (section headings kept at the
    start of their first paragraph with `headings`; code and doctests kept with `every_paragraph`)."""
    documents: list[Document] = []
    for path in _python_files(root):
        module = prefix + "/" + path.relative_to(root).with_suffix("").as_posix()
        for name, doc in _docstrings(path):
            segments = docstring_segments(doc, headings, every_paragraph)
            if len(segments) >= 2:
                documents.append(Document(f"{module}:{name}", module, tuple(segments)))
    return documents


def pydoc_documents() -> list[Document]:
    """One document per topic of the Python language reference shipped with pydoc (`pydoc_data.topics`)."""
    from pydoc_data.topics import topics

    documents = []
    for name in sorted(topics):
        segments = prose_segments(topics[name])
        if len(segments) >= 2:
            documents.append(Document(f"pydoc:{name}", f"pydoc:{name}", tuple(segments)))
    return documents


def folder_documents(folder: Path) -> list[Document]:
    """Documents from a folder of .txt/.md/.rst files: one document per file, paragraphs at blank lines."""
    require(
        folder.is_dir(),
        f"Corpus folder {str(folder)!r} does not exist; pass a folder of .txt/.md/.rst files.",
    )
    documents = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".txt", ".md", ".rst")):
        segments = prose_segments(path.read_text(encoding="utf-8", errors="replace"))
        if len(segments) >= 2:
            name = path.relative_to(folder).as_posix()
            documents.append(Document(f"file:{name}", f"file:{name}", tuple(segments)))
    require(documents, f"No file in {str(folder)!r} has two or more prose paragraphs; add longer text files.")
    return documents


def wikitext_documents(name: str = "wikitext-103-raw-v1", max_documents: int = 20000) -> list[Document]:
    """WikiText articles through the `datasets` library (downloads; never used by default or in tests)."""
    try:
        import datasets
    except ImportError as error:
        raise ImportError(
            "The 'wikitext' source needs the `datasets` library, which is not installed: run "
            "`pip install datasets` (and be online), or use the default offline sources."
        ) from error
    documents: list[Document] = []
    title, paragraphs = None, []
    for row in datasets.load_dataset("wikitext", name, split="train"):
        line = row["text"].strip()
        if line.startswith("= ") and not line.startswith("= ="):
            if title and len(paragraphs) >= 2:
                documents.append(Document(f"wiki:{title}", f"wiki:{title}", tuple(paragraphs)))
                if len(documents) >= max_documents:
                    break
            title, paragraphs = line.strip("= "), []
        elif line and not line.startswith("="):
            text = line.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
            if len(text.split()) >= MIN_WORDS:
                paragraphs.append(text)
    return documents


def _package_root(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def source_versions(sources: Iterable[str]) -> dict[str, str]:
    """The version that determines each source's text (Python for pydoc and stdlib, else the package)."""
    versions = {}
    for source in sources:
        if source in ("pydoc_topics", "stdlib"):
            versions[source] = platform.python_version()
        elif source in PACKAGE_DISTRIBUTIONS:
            try:
                versions[source] = importlib.metadata.version(PACKAGE_DISTRIBUTIONS[source])
            except importlib.metadata.PackageNotFoundError:
                versions[source] = "absent"
    return versions


def extract_documents(source: str, headings: bool = False, every_paragraph: bool = False) -> list[Document]:
    """All documents of one source: 'pydoc_topics', 'stdlib', an installed package name, 'wikitext' or a folder
    (`headings`, `every_paragraph`: how docstrings are segmented, see `docstring_segments`)."""
    if source == "pydoc_topics":
        return pydoc_documents()
    if source == "stdlib":
        return docstring_documents(Path(sysconfig.get_paths()["stdlib"]), "stdlib", headings, every_paragraph)
    if source in PACKAGE_DISTRIBUTIONS:
        root = _package_root(source)
        return [] if root is None else docstring_documents(root, source, headings, every_paragraph)
    if source == "wikitext":
        return wikitext_documents()
    require(
        Path(source).expanduser().is_dir(),
        f"Unknown corpus source {source!r}; use pydoc_topics, stdlib, {', '.join(PACKAGE_DISTRIBUTIONS)}, "
        "wikitext, or the path of a folder of text files.",
    )
    return folder_documents(Path(source).expanduser())


def cached_documents(source: str, headings: bool = False, every_paragraph: bool = False) -> list[Document]:
    """All documents of one source, extracted once per source version (and segmentation choice) and read back
    from the verified cache."""
    versions = source_versions([source])
    if source not in versions:  # a folder or wikitext: not cached (a folder's contents may change)
        return extract_documents(source, headings, every_paragraph)
    choices = [*(["headings"] if headings else []), *(["every_paragraph"] if every_paragraph else [])]
    identity = [CORPUS_VERSION, source, versions[source], *choices]
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    path = cache_dir() / "prose_corpus" / f"{source}-{key}.json"
    holds = {
        "corpus_version": CORPUS_VERSION,
        "source": source,
        "source_version": versions[source],
        "headings": headings,
        "every_paragraph": every_paragraph,
    }

    def build(tmp: Path) -> None:
        documents = extract_documents(source, headings, every_paragraph)
        write_json_atomic(tmp, [[d.doc_id, d.group, list(d.segments)] for d in documents])

    return [Document(d[0], d[1], tuple(d[2])) for d in json.loads(verified(path, holds, build).read_text())]


def heldout_group(group: str, heldout_fraction: float) -> bool:
    """Deterministic split: a group is held out when its hash falls in the first `heldout_fraction` of buckets."""
    bucket = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < heldout_fraction


def build_corpus(
    sources: Sequence[str] = DEFAULT_SOURCES,
    heldout_fraction: float = 0.1,
    max_documents: int | None = None,
    headings: bool = False,
    every_paragraph: bool = False,
) -> Corpus:
    """Documents from `sources`, split by group into training and held-out documents (cached extraction;
    `headings`: docstring section headings kept at the start of their first paragraph; `every_paragraph`: code
    and doctests kept)."""
    require(len(sources) > 0, "No corpus source given; use e.g. sources=('pydoc_topics', 'stdlib').")
    require(
        0 < heldout_fraction < 1, f"heldout_fraction={heldout_fraction} must be between 0 and 1, e.g. 0.1."
    )
    documents = [d for source in sources for d in cached_documents(source, headings, every_paragraph)]
    if max_documents is not None:
        require(max_documents >= 4, f"max_documents={max_documents} is too small; keep at least 4 documents.")
        step = max(1, len(documents) // max_documents)
        documents = documents[::step][:max_documents]
    train = tuple(d for d in documents if not heldout_group(d.group, heldout_fraction))
    heldout = tuple(d for d in documents if heldout_group(d.group, heldout_fraction))
    require(
        len(train) >= 2 and len(heldout) >= 2,
        f"The corpus from {list(sources)} has {len(train)} training and {len(heldout)} held-out documents; both "
        "need at least 2 — add sources or a larger folder, or change heldout_fraction.",
    )
    return Corpus(train, heldout, tuple(sources))


SPLIT_UNITS = ("group", "document")  # validation documents chosen by module, or one by one


def validation_split(
    documents: Sequence[Document], fraction: float = 0.1, unit: str = "group"
) -> tuple[tuple[Document, ...], tuple[Document, ...]]:
    """Training documents split again into (fitting, validation), independently of the held-out split, by group
    (no module on both sides) or by document: settings are chosen on validation documents so that the held-out
    ones stay unseen until the final table."""
    require(0 < fraction < 1, f"validation fraction={fraction} must be between 0 and 1, e.g. 0.1.")
    require(unit in SPLIT_UNITS, f"Unknown split unit {unit!r}; use one of {SPLIT_UNITS}.")
    key = (lambda d: d.group) if unit == "group" else (lambda d: d.doc_id)
    validation = tuple(d for d in documents if heldout_group(f"validation:{key(d)}", fraction))
    fitting = tuple(d for d in documents if not heldout_group(f"validation:{key(d)}", fraction))
    require(
        len(fitting) >= 2 and len(validation) >= 2,
        f"{len(documents)} documents give {len(validation)} validation documents; use a larger corpus.",
    )
    return fitting, validation
