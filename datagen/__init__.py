"""The data generator: composes hand-written fragments (data/fragments/) into labelled conversations.

Modules, one job each: ``fragments`` (load and validate the YAML fragment files), ``slots`` (fill
{order_id}, {amount}, ... with language-appropriate values), ``realism`` (per-conversation persona:
typos, lowercase, emoji, split messages), ``pools`` (partition families and glue lines into disjoint
per-split pools), ``flows`` (the flow types), ``engine`` (generate and write the split files),
``tables`` (the per-language tables in data/fragments/<lang>/tables.yaml, validated on load),
``coherence`` (rules every fragment family must pass), ``manifest`` (build data/manifest.json from the
data files; its schema and the provenance gate are ``classifier.manifest``), ``checks``
(near-duplicates, diversity, shares), ``report`` (the numbers in docs/DATA.md).
Run it as ``scopeguard data generate|check|manifest|report`` (cli/commands/data.py).
"""
