"""The web console (docs/spec.md §7), served by the API at ``/console``: server-rendered pages over
what the service already loaded (the search engine, the recs store, the experiment file) and
what the pipelines wrote (registry, reports, drift history, step ledger).

One module per page's data (pure shaping, tested without a server), :mod:`.charts` for the
inline SVG plots, :mod:`.i18n` for the Spanish/English strings and :mod:`.router` for the
routes. Templates and the stylesheet are package data: nothing is fetched from a CDN.
"""
