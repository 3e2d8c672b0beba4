"""Writes golden/inputs/{seed.json, pairs.jsonl, tokenizer_corpus.jsonl, rr_lists.jsonl} (stdlib only, deterministic).

Real text comes from the gensim==4.4.0 wheel's test data (see _data.py); the odd cases are written
here by hand. rr_lists.jsonl holds ranked lists with relevance labels built from the text minilm-l6-rr
never saw in training (_rr_data.py); it draws from its own random generator, so the other files do not
depend on it. Run: python3 golden/make_inputs.py  (downloads the gensim wheel into .models/cache/).
"""
from __future__ import annotations

import json
import random
import re
import unicodedata

import _data
import _rr_data

OUT = _data.REPO / "golden" / "inputs"
# Held-out ranked lists (rr_lists.jsonl): 16 inverse-cloze, 4 title and 4 news queries, 15 documents each.
RR_LISTS = {"seed": 20240612, "n_ict": 16, "n_title": 4, "n_news": 4, "size": 15}

SEED = {
    "query": "How many people live in Berlin?",
    "documents": [
        "Berlin had a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
        "Berlin is well known for its museums.",
        "In 2014, the city state Berlin had 37,368 live births (+6.6%), a record number since 1991.",
        "The urban area of Berlin comprised about 4.1 million people in 2014, making it the seventh most populous urban area in the European Union.",
        "The city of Paris had a population of 2,165,423 people within its administrative city limits as of January 1, 2019",
        "An estimated 300,000-420,000 Muslims reside in Berlin, making up about 8-11 percent of the population.",
        "Berlin is subdivided into 12 boroughs or districts (Bezirke).",
        "In 2015, the total labour force in Berlin was 1.85 million.",
        "In 2013 around 600,000 Berliners were registered in one of the more than 2,300 sport and fitness clubs.",
        "Berlin has a yearly total of about 135 million day visitors, which puts it in third place among the most-visited city destinations in the European Union.",
    ],
    "source": {
        "what": "the CrossEncoder usage example of the sentence-transformers documentation (query and the 10 passages passed to model.rank)",
        "url": "https://sbert.net/docs/cross_encoder/usage/usage.html",
        "repository": "UKPLab/sentence-transformers",
        "path": "docs/cross_encoder/usage/usage.rst",
        "commit": "1a64be9c6563cde66ed34c958e594d9e12820b58",
    },
}

# Hand-written text with the properties tokenizers get wrong. Escapes keep this file ASCII.
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3  # 135 chars > max_input_chars_per_word (100)
MULTILINGUAL = [
    "Berlin ist die Hauptstadt Deutschlands und hat rund 3,7 Millionen Einwohner.",
    "Stra\u00dfe, Gr\u00f6\u00dfe, \u00c4rger, \u00fcber \u2014 die Gro\u00dfstadt w\u00e4chst.",
    "Paris est la capitale de la France ; elle compte environ 2,1 millions d\u2019habitants.",
    "\u00c0 l\u2019\u00e9t\u00e9, o\u00f9 est le ch\u00e2teau ? No\u00ebl, na\u00efve, c\u0153ur.",
    "Madrid es la capital de Espa\u00f1a. \u00bfCu\u00e1ntas personas viven en Berl\u00edn? \u00a1Muchas!",
    "S\u00e3o Paulo \u00e9 a maior cidade do Brasil, com mais de 12 milh\u00f5es de habitantes.",
    "Roma \u00e8 la capitale d\u2019Italia; perch\u00e9 cos\u00ec tante persone ci vivono?",
    "Warszawa jest stolic\u0105 Polski; \u017c\u00f3\u0142w, \u0142\u00f3d\u017a, \u015bl\u0105sk.",
    "Praha je hlavn\u00ed m\u011bsto \u010cesk\u00e9 republiky, \u0159eka Vltava.",
    "\u0130stanbul, T\u00fcrkiye'nin en kalabal\u0131k \u015fehridir; I\u011fd\u0131r ve \u0131\u015f\u0131k.",
    "H\u00e0 N\u1ed9i l\u00e0 th\u1ee7 \u0111\u00f4 c\u1ee7a Vi\u1ec7t Nam, d\u00e2n s\u1ed1 kho\u1ea3ng 8 tri\u1ec7u ng\u01b0\u1eddi.",
    "\u0391\u03b8\u03ae\u03bd\u03b1 \u03b5\u03af\u03bd\u03b1\u03b9 \u03b7 \u03c0\u03c1\u03c9\u03c4\u03b5\u03cd\u03bf\u03c5\u03c3\u03b1 \u03c4\u03b7\u03c2 \u0395\u03bb\u03bb\u03ac\u03b4\u03b1\u03c2. \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u0441\u0442\u043e\u043b\u0438\u0446\u0430 \u0420\u043e\u0441\u0441\u0438\u0438, \u043d\u0430\u0441\u0435\u043b\u0435\u043d\u0438\u0435 \u043e\u043a\u043e\u043b\u043e 13 \u043c\u0438\u043b\u043b\u0438\u043e\u043d\u043e\u0432 \u0447\u0435\u043b\u043e\u0432\u0435\u043a. \u0401\u041b\u041a\u0410",
    "\u041a\u0438\u0457\u0432 \u2014 \u0441\u0442\u043e\u043b\u0438\u0446\u044f \u0423\u043a\u0440\u0430\u0457\u043d\u0438; \u0491\u0430\u043d\u043e\u043a, \u0404\u0432\u0440\u043e\u043f\u0430.",
    "\u0627\u0644\u0642\u0627\u0647\u0631\u0629 \u0647\u064a \u0639\u0627\u0635\u0645\u0629 \u0645\u0635\u0631\u060c \u0648\u064a\u0639\u064a\u0634 \u0641\u064a\u0647\u0627 \u0623\u0643\u062b\u0631 \u0645\u0646 \u0662\u0660 \u0645\u0644\u064a\u0648\u0646 \u0646\u0633\u0645\u0629.",
    "\u05d9\u05e8\u05d5\u05e9\u05dc\u05d9\u05dd \u05d4\u05d9\u05d0 \u05e2\u05d9\u05e8 \u05e2\u05ea\u05d9\u05e7\u05d4 \u05d1\u05de\u05d6\u05e8\u05d7 \u05d4\u05ea\u05d9\u05db\u05d5\u05df.",
    "\u0928\u0908 \u0926\u093f\u0932\u094d\u0932\u0940 \u092d\u093e\u0930\u0924 \u0915\u0940 \u0930\u093e\u091c\u0927\u093e\u0928\u0940 \u0939\u0948\u0964 \u0967\u0968\u0969",
    "\u0e01\u0e23\u0e38\u0e07\u0e40\u0e17\u0e1e\u0e21\u0e2b\u0e32\u0e19\u0e04\u0e23\u0e40\u0e1b\u0e47\u0e19\u0e40\u0e21\u0e37\u0e2d\u0e07\u0e2b\u0e25\u0e27\u0e07\u0e02\u0e2d\u0e07\u0e1b\u0e23\u0e30\u0e40\u0e17\u0e28\u0e44\u0e17\u0e22",
    "\u67cf\u6797\u662f\u5fb7\u56fd\u7684\u9996\u90fd\uff0c\u4eba\u53e3\u7ea6\u4e3a\u4e09\u767e\u4e03\u5341\u4e07\u3002",
    "\u67cf\u6797\u6709\u591a\u5c11\u4eba\u53e3\uff1f",
    "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002\u30d9\u30eb\u30ea\u30f3\u306e\u4eba\u53e3\u306f\u7d04370\u4e07\u4eba\u3067\u3059\u3002",
    "\uff8a\uff9d\uff76\uff78\uff76\uff80\uff76\uff85 \u3068 \u30ab\u30bf\u30ab\u30ca \u3068 \u3072\u3089\u304c\u306a",
    "\ubca0\ub97c\ub9b0\uc758 \uc778\uad6c\ub294 \uc57d 370\ub9cc \uba85\uc774\ub2e4. \uc11c\uc6b8\uc740 \ud55c\uad6d\uc758 \uc218\ub3c4\uc774\ub2e4.",
    "\u1112\u1161\u11ab\u1100\u1173\u11af (conjoining jamo) vs \ud55c\uae00",
    "\uff22\uff45\uff52\uff4c\uff49\uff4e\u3000\uff11\uff12\uff13 (fullwidth)",
    "\U00020000\U0002a6d6 CJK Extension B, \u3400 Extension A, \uf900 compatibility ideograph",
    "\u10e1\u10d0\u10e5\u10d0\u10e0\u10d7\u10d5\u10d4\u10da\u10dd Georgia, \u0540\u0561\u0575\u0561\u057d\u057f\u0561\u0576 Armenia",
    "\u12a0\u12f2\u1235 \u12a0\u1260\u1263 Amharic, \u1780\u17d2\u1798\u17c2\u179a Khmer, \u0dc1\u0dca\u200d\u0dbb\u0dd3 \u0dbd\u0d82\u0d9a\u0dcf Sinhala",
    "\u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u0ba8\u0bbe\u0b9f\u0bc1 Tamil, \u09ac\u09be\u0982\u09b2\u09be Bengali, \u0a2a\u0a70\u0a1c\u0a3e\u0a2c\u0a40 Punjabi",
    "Dobr\u00fd den! Hyv\u00e4\u00e4 p\u00e4iv\u00e4\u00e4! J\u00f3 napot! \u00c5se \u00f8l \u00e6ble. \u00deetta er \u00ed lagi.",
]
ODD = [
    ("mixed-case", "hOW mAnY PEOPLE live IN berlin?", "BERLIN Had A Population Of 3,520,031 Registered INHABITANTS."),
    ("accents-precomposed", "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 in K\u00f6ln", "Das Caf\u00e9 in K\u00f6ln \u00f6ffnet um acht."),
    ("accents-combining", "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 in Ko\u0308ln", "Das Cafe\u0301 in Ko\u0308ln o\u0308ffnet um acht."),
    ("stacked-combining", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034da\u036b\u0357\u0364l\u0300\u0351g\u0308o\u030a", "normal text about zalgo"),
    ("compat-chars", "\ufb01nance of\ufb03ce \u212bngstr\u00f6m \u2160\u2161\u2162 \u00bd \u2460 x\u00b2", "The \ufb01nancial o\ufb03cer measured 3 \u212b."),
    ("turkish-dotted", "\u0130STANBUL \u0130zmir I\u011fd\u0131r", "\u0131\u015f\u0131k i\u0307stanbul"),
    ("german-sharp-s", "STRASSE oder Stra\u00dfe? \u1e9e", "Die Stra\u00dfe ist gro\u00df."),
    ("cjk-query", "\u67cf\u6797\u6709\u591a\u5c11\u4eba\u53e3\uff1f", "\u67cf\u6797\u662f\u5fb7\u56fd\u7684\u9996\u90fd\uff0c\u4eba\u53e3\u7ea6\u4e3a\u4e09\u767e\u4e03\u5341\u4e07\u3002"),
    ("cjk-mixed", "How many people live in \u67cf\u6797 (Berlin)?", "\u30d9\u30eb\u30ea\u30f3\u306e\u4eba\u53e3\u306f\u7d04370\u4e07\u4eba\u3067\u3059\u3002Berlin has 3.7M."),
    ("korean", "\ubca0\ub97c\ub9b0\uc5d0\ub294 \uba87 \uba85\uc774 \uc0b4\uc544\uc694?", "\ubca0\ub97c\ub9b0\uc758 \uc778\uad6c\ub294 \uc57d 370\ub9cc \uba85\uc774\ub2e4."),
    ("emoji", "I \u2764\ufe0f Berlin \U0001f1e9\U0001f1ea \U0001f600\U0001f389", "Berlin \U0001f3d9\ufe0f has 3.7 million people \U0001f465 and great \U0001f35d\U0001f37a."),
    ("emoji-zwj", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family trip", "\U0001f3f3\ufe0f\u200d\U0001f308 parade and \U0001f9d1\U0001f3fd\u200d\U0001f4bb coder, \U0001f44d\U0001f3ff thumbs"),
    ("emoji-only", "\U0001f600", "\U0001f680\U0001f680\U0001f680 \U0001f30d"),
    ("punctuation-runs", "Berlin???!!! ...population... --- (((how many)))", "!!!???...,,,;;;:::---___***&&&^^^%%%$$$###@@@"),
    ("dashes-quotes", "\u201cBerlin\u201d \u2014 the \u2018capital\u2019 \u2013 \u00abWeltstadt\u00bb \u2026", "\u201eGermany\u201c \u203a quoted \u2039 \u2032 \u2033 \u00b7 \u2022 \u00a7 \u00b6"),
    ("tabs-newlines", "\tHow many\tpeople\n\nlive in Berlin?\r\n", "Berlin\thad\ta\tpopulation\nof\r\n3,520,031\n\n\n\tregistered inhabitants."),
    ("nbsp", "How\u00a0many\u00a0people live\u00a0in\u00a0Berlin?", "Berlin\u00a0had\u00a0a population of 3\u00a0520\u00a0031 people\u202f."),
    ("ideographic-space", "\u30d9\u30eb\u30ea\u30f3\u3000\u4eba\u53e3\u3000\u3000\u3000\u3068\u306f", "Berlin\u3000has\u3000many\u3000people"),
    ("unicode-spaces", "Berlin\u2002\u2003\u2009\u200a\u205f\u1680population", "en\u2002em\u2003thin\u2009hair\u200amath\u205fogham\u1680end"),
    ("zero-width", "Ber\u200blin pop\u200cula\u200dtion\u2060", "\ufeffBOM first, then zero\u200bwidth\u200b\u200b\u200bspaces"),
    ("control-chars", "Berlin\x00population\x07?", "line\x0bvertical\x0cform feed\x1b[31mred\x1b[0m\x7fdel\x08back"),
    ("c1-and-separators", "next\u0085line and\u2028line\u2029para", "soft\u00adhyphen and \u200e\u200fmarks\u202aembed\u202c"),
    ("literal-sep", "What does [SEP] mean?", "The token [SEP] separates segments; [CLS] starts them and [PAD] pads."),
    ("literal-specials", "[CLS] [MASK] [UNK] [PAD] [SEP]", "[sep] [Sep] [ SEP ] [[SEP]] <s></s> <pad> </s>"),
    ("numbers", "3,520,031 vs 3.520.031 vs 3 520 031 vs 3520031", "pi = 3.14159265358979323846; 1e-12; 0x1F; -42; +7; 1/2; 50%"),
    ("urls-code", "https://www.berlin.de/en/?q=population&lang=en#top", "def f(x): return x**2  # user@example.com <tag attr=\"v\"/> C:\\path\\file.txt"),
    ("long-word", LONG_WORD, "short document"),
    ("long-word-doc", "what is the longest word?", "The longest word is " + LONG_WORD + " indeed."),
    ("math-symbols", "\u2200x\u2208\u211d: x\u00b2 \u2265 0 \u2211 \u222b \u221e \u2248 \u2260", "\U0001d400\U0001d401\U0001d402 bold math, \u2102 \u2115"),
    ("rtl-mixed", "How many people live in \u0627\u0644\u0642\u0627\u0647\u0631\u0629?", "\u05d9\u05e8\u05d5\u05e9\u05dc\u05d9\u05dd has 950,000 people; \u0627\u0644\u0642\u0627\u0647\u0631\u0629 has 20 million."),
    ("thai-no-spaces", "\u0e01\u0e23\u0e38\u0e07\u0e40\u0e17\u0e1e\u0e21\u0e35\u0e04\u0e19\u0e01\u0e35\u0e48\u0e04\u0e19", "\u0e01\u0e23\u0e38\u0e07\u0e40\u0e17\u0e1e\u0e21\u0e2b\u0e32\u0e19\u0e04\u0e23\u0e40\u0e1b\u0e47\u0e19\u0e40\u0e21\u0e37\u0e2d\u0e07\u0e2b\u0e25\u0e27\u0e07"),
    ("single-char", "a", "b"),
    ("whitespace-only-query", "   \t\n  ", "Berlin is well known for its museums."),
    ("empty-query", "", "Berlin had a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers."),
    ("empty-document", "How many people live in Berlin?", ""),
    ("both-empty", "", ""),
]


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def variants(s: str, rng: random.Random) -> list[tuple[str, str]]:
    """Real sentences with one oddity each (kind, text)."""
    words = s.split(" ")
    out = [
        ("upper", s.upper()),
        ("nfd", nfd(s)),
        ("tabs", "\t".join(words)),
        ("nbsp", "\u00a0".join(words)),
        ("ideographic-space", "\u3000".join(words)),
        ("zero-width", "\u200b".join(words)),
        ("emoji", rng.choice(["\U0001f600 ", "\U0001f44d\U0001f3fd ", "\U0001f468\u200d\U0001f4bb "]) + s + rng.choice([" \U0001f389", " \u2764\ufe0f", " \U0001f1e9\U0001f1ea"])),
        ("newlines", "\n".join(words)),
        ("punct-run", s.rstrip(".") + rng.choice(["!!!???", "......", " --- ;;; ---", "?!?!"])),
        ("control", s.replace(" ", "\x00 ", 1).replace(" ", " \x1f", 1)),
    ]
    return out


def main() -> None:
    rng = random.Random(20240611)
    OUT.mkdir(parents=True, exist_ok=True)
    src = _data.source_record()
    lee = _data.lee_docs()
    bg = _data.lee_background()
    wiki = _data.wiki_articles()
    wiki_sents = [(t, s) for t, ps in wiki for p in ps for s in _data.sentences(p) if 20 <= len(s) <= 600]

    # seed.json
    seed = dict(SEED)
    (OUT / "seed.json").write_text(_data.dumps(seed, indent=1) + "\n", encoding="utf-8")

    # pairs.jsonl
    pairs: list[dict] = []

    def add(kind: str, q: str, d: str, source: str) -> None:
        pairs.append({"id": f"pairs-{len(pairs):04d}", "kind": kind, "query": q, "document": d, "source": source})

    for _ in range(60):  # document vs document (the Lee rating setup)
        i, j = rng.sample(range(50), 2)
        add("lee-doc-doc", lee[i], lee[j], f"lee.cor line {i + 1} / lee.cor line {j + 1}")
    for _ in range(60):  # first sentence as query vs a document (half the time its own document)
        i = rng.randrange(50)
        j = i if rng.random() < 0.5 else rng.randrange(50)
        add("lee-sentence-doc", _data.sentences(lee[i])[0], lee[j], f"lee.cor line {i + 1} sentence 1 / lee.cor line {j + 1}")
    for _ in range(50):  # background: a short sentence vs a background document
        i, j = rng.randrange(len(bg)), rng.randrange(len(bg))
        ss = _data.sentences(bg[i])
        add("lee-background", rng.choice(ss), bg[j], f"lee_background.cor line {i + 1} (a sentence) / lee_background.cor line {j + 1}")
    for _ in range(50):  # wiki: sentence vs the next few sentences of some article
        t, s = rng.choice(wiki_sents)
        title, paras = rng.choice(wiki)
        para = rng.choice(paras)
        add("wiki-sentence-paragraph", s, para, f"{_data.WIKI_NAME}: a sentence of '{t}' / a paragraph of '{title}'")
    for _ in range(30):  # short wiki sentence pairs (STS-like length)
        (t1, s1), (t2, s2) = rng.sample(wiki_sents, 2)
        add("wiki-sentence-sentence", s1, s2, f"{_data.WIKI_NAME}: '{t1}' / '{t2}'")
    nonascii = [(t, s) for t, s in wiki_sents if re.search(r"[^\x00-\x7f]", s)]
    for _ in range(20):
        (t1, s1), (t2, s2) = rng.sample(nonascii, 2)
        add("wiki-nonascii", s1, s2, f"{_data.WIKI_NAME}: '{t1}' / '{t2}' (sentences with non-ASCII)")
    # longer than 512 tokens: whole articles / several background documents
    long_articles = sorted(((sum(len(p) for p in ps), t, " ".join(ps)) for t, ps in wiki), reverse=True)
    for k in range(6):
        _, t, text = long_articles[k * 3]
        add("long-document", SEED["query"] if k % 2 == 0 else _data.sentences(text)[0], text[:12000], f"{_data.WIKI_NAME}: article '{t}' (paragraphs joined, first 12,000 chars)")
    for k in range(4):
        i = rng.randrange(len(bg) - 4)
        add("long-query-long-document", " ".join(bg[i:i + 3]), " ".join(bg[i + 3:i + 6]) if k % 2 else lee[k], f"lee_background.cor lines {i + 1}-{i + 3} / {'lee_background.cor lines %d-%d' % (i + 4, i + 6) if k % 2 else 'lee.cor line %d' % (k + 1)}")
    i = rng.randrange(len(bg) - 4)
    add("long-query-short-document", " ".join(bg[i:i + 4]), "Berlin is well known for its museums.", f"lee_background.cor lines {i + 1}-{i + 4} / seed passage 2")
    for kind, q, d in ODD:
        add("odd-" + kind, q, d, "hand-written")
    for k, text in enumerate(MULTILINGUAL):
        add("multilingual", SEED["query"] if k % 3 == 0 else text, SEED["documents"][k % 10] if k % 3 == 0 else MULTILINGUAL[(k + 7) % len(MULTILINGUAL)], "hand-written")
    for k in range(20):  # real text with one oddity
        i = rng.randrange(50)
        s = _data.sentences(lee[i])[0]
        kind, v = variants(s, rng)[k % 10]
        add("variant-" + kind, v, lee[(i + k) % 50] if k % 2 else s, f"lee.cor line {i + 1} sentence 1, transformed ({kind})")
    with open(OUT / "pairs.jsonl", "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(_data.dumps(p) + "\n")

    # tokenizer_corpus.jsonl
    corpus: list[dict] = []
    seen: set[str] = set()

    def addt(kind: str, text: str, source: str) -> None:
        if text in seen:
            return
        seen.add(text)
        corpus.append({"id": f"tok-{len(corpus):05d}", "kind": kind, "text": text, "source": source})

    addt("seed", SEED["query"], "seed.json")
    for d in SEED["documents"]:
        addt("seed", d, "seed.json")
    for i, d in enumerate(lee):
        addt("lee-doc", d, f"lee.cor line {i + 1}")
        for s in _data.sentences(d):
            addt("lee-sentence", s, f"lee.cor line {i + 1}")
    for i in sorted(rng.sample(range(len(bg)), 40)):
        addt("lee-background-doc", bg[i], f"lee_background.cor line {i + 1}")
    bg_sents = [(i, s) for i, d in enumerate(bg) for s in _data.sentences(d)]
    for i, s in rng.sample(bg_sents, 600):
        addt("lee-background-sentence", s, f"lee_background.cor line {i + 1}")
    for t, s in rng.sample(nonascii, min(300, len(nonascii))):
        addt("wiki-nonascii", s, f"{_data.WIKI_NAME}: '{t}'")
    for t, s in rng.sample(wiki_sents, 600):
        addt("wiki-sentence", s, f"{_data.WIKI_NAME}: '{t}'")
    for t, ps in rng.sample(wiki, 20):
        addt("wiki-paragraph", max(ps, key=len), f"{_data.WIKI_NAME}: '{t}' (longest paragraph)")
    for text in MULTILINGUAL:
        addt("multilingual", text, "hand-written")
        addt("multilingual-upper", text.upper(), "hand-written, upper-cased")
        addt("multilingual-nfd", nfd(text), "hand-written, NFD")
    for kind, q, d in ODD:
        addt("odd-" + kind, q, "hand-written")
        addt("odd-" + kind, d, "hand-written")
    reals = [s for d in lee for s in _data.sentences(d)] + [s for _, s in wiki_sents[:2000]]
    for k, s in enumerate(rng.sample(reals, 40)):
        for kind, v in variants(s, rng):
            addt("variant-" + kind, v, "lee.cor / enwiki sentence, transformed")
    # single characters across scripts and categories
    for cp in [0x41, 0x7A, 0xE9, 0x131, 0x130, 0x3A3, 0x3C2, 0x416, 0x5D0, 0x627, 0x915, 0xE01, 0x1100, 0x3042, 0x30A2, 0x4E00,
               0x9FFF, 0xAC00, 0xF900, 0xFF21, 0xFF71, 0x20000, 0x2A6D6, 0x1F600, 0x2764, 0x00A0, 0x3000, 0x200B, 0x00AD,
               0x0300, 0x0000, 0x0009, 0x000A, 0x001F, 0x007F, 0x0085, 0x2028, 0xFEFF, 0xFFFD, 0x10FFFD, 0xE000]:
        addt("codepoint", chr(cp), f"U+{cp:04X}")
    for w in ["[SEP]", "[CLS]", "[PAD]", "[MASK]", "[UNK]", "[sep]", " [SEP] ", "a[SEP]b", "[SEP][SEP]", "##", "##ing", "un##able", "[", "]"]:
        addt("special-literal", w, "hand-written")
    addt("empty", "", "hand-written")
    addt("whitespace", " ", "hand-written")
    addt("whitespace", "\t\n\r ", "hand-written")
    with open(OUT / "tokenizer_corpus.jsonl", "w", encoding="utf-8") as f:
        for c in corpus:
            f.write(_data.dumps(c) + "\n")

    # rr_lists.jsonl
    lists = _rr_data.held_out_lists(**RR_LISTS)
    with open(OUT / "rr_lists.jsonl", "w", encoding="utf-8") as f:
        for k, l in enumerate(lists):
            f.write(_data.dumps({"id": f"rr-{k:02d}", **l}) + "\n")

    (OUT / "SOURCES.json").write_text(json.dumps({
        "generator": "golden/make_inputs.py",
        "seed.json": SEED["source"],
        "text_sources": src,
        "rr_lists.jsonl": {"built_by": "golden/_rr_data.py held_out_lists", "arguments": RR_LISTS,
                           "held_out_wiki_articles": [t for t, _ in _rr_data.held_out_split().articles],
                           "held_out_news": "all of lee.cor"},
        "counts": {"pairs.jsonl": len(pairs), "tokenizer_corpus.jsonl": len(corpus), "rr_lists.jsonl": len(lists)},
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"seed.json: 1 query, {len(SEED['documents'])} documents; pairs.jsonl: {len(pairs)}; tokenizer_corpus.jsonl: {len(corpus)}; "
          f"rr_lists.jsonl: {len(lists)} lists x {RR_LISTS['size']} documents")


if __name__ == "__main__":
    main()
