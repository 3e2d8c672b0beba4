"""Reranking data for minilm-l6-rr from the real text of _data.py (stdlib only, deterministic).

Three query kinds, all with one relevant passage:

- `wiki-ict`: the inverse cloze task (K. Lee, M.-W. Chang, K. Toutanova 2019, "Latent Retrieval for
  Weakly Supervised Open Domain Question Answering"): query = one sentence of a Wikipedia paragraph,
  relevant passage = that paragraph with the sentence removed.
- `wiki-title`: query = an article title, relevant passage = a paragraph of that article (its lead
  paragraph in evaluation lists; in training also paragraphs that name the title).
- `lee-news`: query = a news document's first sentence, relevant passage = the rest of the document.

Non-relevant passages always come from other articles / other documents of the same split: half
lexical hard negatives (the BM25 top 10 for the query, with the query's own article or document
excluded), half drawn uniformly. Passages of the query's own article are never used as negatives:
they are on topic and would be false negatives for title queries.

Split: HELD_OUT_ARTICLES (20 of the 103 articles of the shortened Wikipedia dump) and all of lee.cor
(50 documents) are held out; training uses the other wiki articles and lee_background.cor (300 documents).
No held-out text appears in training, as query, positive or negative.
"""
from __future__ import annotations

import math
import random
import re

import _data

HOLD_OUT_SEED = 4242
N_HELD_OUT_ARTICLES = 20
MIN_PASSAGE, MAX_PASSAGE = 150, 1500  # characters of a wiki passage (paragraph, or paragraph minus the query sentence)
MIN_QUERY, MAX_QUERY = 40, 250  # characters of a sentence query

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an and are as at be been but by for from had has have he her his in into is it its of on or
that the their there they this to was were which who will with""".split())


def terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


class BM25:
    """Okapi BM25 (k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5))) over a fixed passage list."""

    def __init__(self, passages: list[str], k1: float = 1.2, b: float = 0.75):
        self.n = len(passages)
        self.postings: dict[str, list[tuple[int, int]]] = {}
        self.length = []
        for i, p in enumerate(passages):
            tf: dict[str, int] = {}
            for t in terms(p):
                tf[t] = tf.get(t, 0) + 1
            self.length.append(sum(tf.values()))
            for t in sorted(tf):
                self.postings.setdefault(t, []).append((i, tf[t]))
        self.avg = sum(self.length) / max(1, self.n)
        self.k1, self.b = k1, b

    def scores(self, query: str) -> list[float]:
        s = [0.0] * self.n
        for t in sorted(set(terms(query))):
            post = self.postings.get(t)
            if not post:
                continue
            idf = math.log(1.0 + (self.n - len(post) + 0.5) / (len(post) + 0.5))
            for i, tf in post:
                s[i] += idf * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.length[i] / self.avg))
        return s

    def top(self, query: str, k: int, exclude) -> list[int]:
        """Indices of the k best passages (ties: lower index first), skipping exclude(i)."""
        s = self.scores(query)
        order = sorted(range(self.n), key=lambda i: (-s[i], i))
        return [i for i in order if s[i] > 0 and not exclude(i)][:k]


def _title_text(title: str) -> str:
    return re.sub(r"\s*\(.*?\)\s*", " ", title).strip()


def wiki_split() -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """(training articles, held-out articles) of the shortened dump, disambiguation and list pages dropped."""
    arts = [(t, ps) for t, ps in _data.wiki_articles() if "(disambiguation)" not in t and not t.startswith("List of")]
    eligible = sorted(t for t, ps in arts if len(ict_candidates(ps)) >= 8)
    held = set(random.Random(HOLD_OUT_SEED).sample(eligible, N_HELD_OUT_ARTICLES))
    return [a for a in arts if a[0] not in held], [a for a in arts if a[0] in held]


def ict_candidates(paragraphs: list[str]) -> list[tuple[int, int]]:
    """(paragraph index, sentence index) pairs usable for the inverse cloze task: >= 3 sentences, the query
    sentence 40..250 characters, the rest 150..1500 characters."""
    out = []
    for pi, p in enumerate(paragraphs):
        ss = _data.sentences(p)
        if len(ss) < 3:
            continue
        for si, s in enumerate(ss):
            rest = " ".join(ss[:si] + ss[si + 1:])
            if MIN_QUERY <= len(s) <= MAX_QUERY and MIN_PASSAGE <= len(rest) <= MAX_PASSAGE:
                out.append((pi, si))
    return out


def ict_pair(paragraphs: list[str], pi: int, si: int) -> tuple[str, str]:
    ss = _data.sentences(paragraphs[pi])
    return ss[si], " ".join(ss[:si] + ss[si + 1:])


def passage_pool(articles: list[tuple[str, list[str]]]) -> tuple[list[str], list[int]]:
    """Every paragraph of 150..1500 characters, with the index of its article."""
    texts, owner = [], []
    for a, (_, ps) in enumerate(articles):
        for p in ps:
            if MIN_PASSAGE <= len(p) <= MAX_PASSAGE:
                texts.append(p)
                owner.append(a)
    return texts, owner


def news_split(docs: list[str]) -> list[tuple[int, str, str]]:
    """(line index, first sentence, rest) of every news document with >= 3 sentences whose first sentence
    is 40..250 characters."""
    out = []
    for line, d in enumerate(docs):
        ss = _data.sentences(d)
        if len(ss) >= 3 and MIN_QUERY <= len(ss[0]) <= MAX_QUERY:
            out.append((line, ss[0], " ".join(ss[1:])))
    return out


def _negatives(rng: random.Random, bm25: BM25, texts: list[str], query: str, own, n_hard: int, n_random: int) -> list[int]:
    """n_hard drawn from the BM25 top 10 and n_random drawn uniformly, all distinct, none with own(i) true."""
    hard_pool = bm25.top(query, 10, own)
    hard = rng.sample(hard_pool, min(n_hard, len(hard_pool)))
    chosen = set(hard)
    rest = [i for i in range(len(texts)) if not own(i) and i not in chosen]
    return hard + rng.sample(rest, n_random + n_hard - len(hard))


class Split:
    """The passages and queries of one side of the split."""

    def __init__(self, articles: list[tuple[str, list[str]]], news: list[str]):
        self.articles = articles
        self.wiki_texts, self.wiki_owner = passage_pool(articles)
        self.wiki_bm25 = BM25(self.wiki_texts)
        self.news = news_split(news)
        self.news_bm25 = BM25([r for _, _, r in self.news])

    def ict_queries(self, rng: random.Random, per_article: int) -> list[dict]:
        """Up to per_article inverse-cloze queries from each article, each paragraph used at most once."""
        out = []
        for a, (title, ps) in enumerate(self.articles):
            cands = ict_candidates(ps)
            rng.shuffle(cands)
            used = set()
            for pi, si in cands:
                if len(used) == per_article:
                    break
                if pi in used:
                    continue
                used.add(pi)
                q, pos = ict_pair(ps, pi, si)
                out.append({"kind": "wiki-ict", "query": q, "positive": pos, "article": a,
                            "source": f"{_data.WIKI_NAME}: '{title}' paragraph {pi + 1}, sentence {si + 1} (query) / the paragraph without it"})
        return out

    def title_queries(self, rng: random.Random, per_article: int, lead_only: bool) -> list[dict]:
        out = []
        for a, (title, ps) in enumerate(self.articles):
            name = _title_text(title)
            if len(name) < 3:
                continue
            good = [pi for pi, p in enumerate(ps) if MIN_PASSAGE <= len(p) <= MAX_PASSAGE]
            if not good:
                continue
            picks = [good[0]]
            if not lead_only:
                naming = [pi for pi in good[1:] if name.lower() in ps[pi].lower()]
                picks += rng.sample(naming, min(per_article - 1, len(naming)))
            for pi in picks:
                out.append({"kind": "wiki-title", "query": name, "positive": ps[pi], "article": a,
                            "source": f"{_data.WIKI_NAME}: title of '{title}' (query) / its paragraph {pi + 1}"})
        return out

    def news_queries(self, source_name: str) -> list[dict]:
        idx = range(len(self.news))
        return [{"kind": "lee-news", "query": self.news[i][1], "positive": self.news[i][2], "doc": i,
                 "source": f"{source_name} line {self.news[i][0] + 1}: sentence 1 (query) / the rest"} for i in idx]

    def sample_queries(self, rng: random.Random, n_ict: int, n_title: int, n_news: int, ict_per_article: int,
                       news_source: str) -> list[dict]:
        """n_ict inverse-cloze, n_title lead-title and n_news news queries, drawn in that order."""
        ict = self.ict_queries(rng, per_article=ict_per_article)
        title = self.title_queries(rng, per_article=1, lead_only=True)
        news = self.news_queries(news_source)
        return rng.sample(ict, n_ict) + rng.sample(title, n_title) + rng.sample(news, n_news)

    def negatives(self, rng: random.Random, q: dict, n_hard: int, n_random: int) -> list[str]:
        if q["kind"] == "lee-news":
            own = lambda i: i == q["doc"]  # noqa: E731
            return [self.news[i][2] for i in _negatives(rng, self.news_bm25, self.news, q["query"], own, n_hard, n_random)]
        own = lambda i: self.wiki_owner[i] == q["article"]  # noqa: E731
        return [self.wiki_texts[i] for i in _negatives(rng, self.wiki_bm25, self.wiki_texts, q["query"], own, n_hard, n_random)]


def training_split() -> Split:
    train, _ = wiki_split()
    return Split(train, _data.lee_background())


def held_out_split() -> Split:
    _, held = wiki_split()
    return Split(held, _data.lee_docs())


def held_out_lists(seed: int, n_ict: int, n_title: int, n_news: int, size: int) -> list[dict]:
    """Ranked lists from held-out text only: each has one relevant document (relevance 1) among `size`,
    the others half BM25 hard negatives, half random; the documents are shuffled."""
    rng = random.Random(seed)
    sp = held_out_split()
    qs = sp.sample_queries(rng, n_ict, n_title, n_news, ict_per_article=3, news_source="lee.cor")
    out = []
    for q in qs:
        n_neg = size - 1
        negs = sp.negatives(rng, q, n_neg // 2, n_neg - n_neg // 2)
        docs = [(q["positive"], 1)] + [(d, 0) for d in negs]
        rng.shuffle(docs)
        out.append({"kind": q["kind"], "query": q["query"], "documents": [d for d, _ in docs], "relevance": [r for _, r in docs],
                    "source": q["source"] + "; negatives: other held-out articles/documents (half BM25 top 10, half random)"})
    return out
