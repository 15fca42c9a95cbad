"""The data generator: composes hand-written fragments (data/fragments/) into labelled conversations.

Modules, one job each: ``fragments`` (load and validate the YAML fragment files), ``slots`` (fill
{order_id}, {amount}, ... with language-appropriate values), ``realism`` (per-conversation persona:
typos, lowercase, emoji, split messages), ``pools`` (partition families and glue lines into disjoint
per-split pools), ``flows`` (the flow types), ``engine`` (generate and write the split files),
``manifest`` (hashes, counts and provenance of every data file), ``checks`` (near-duplicates,
diversity, shares).
"""
