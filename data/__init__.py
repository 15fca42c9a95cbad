"""The data set: generated splits, hand-written challenge set, manifest. Entry points live here:

python -m data.generate          # regenerate data/generated/*.jsonl.gz from data/fragments/
python -m data.manifest          # rewrite data/manifest.json (hashes, counts, provenance)
python -m data.fragments_check   # validate the fragment files (for content writers)
"""
