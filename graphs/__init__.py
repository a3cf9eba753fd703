"""graphs: the pure side of analytics. Rows (polars frames) in, graphs or frames out; this package
never imports the store or opens anything (findings/analytics.py and views/network_view.py are the
I/O edges).

The graph model (issue 4):

- nodes: persons (resolved ids), households (one key per home: the UPRN where given, else the
  normalised address with its postcode; a postcode alone is not a household; address variants of
  a home that was also sent with a UPRN take the UPRN's key), events;
- edges: person–event with role and date; person–household with the dates the person was
  recorded there (graphs.households.person_households); event–household where the harm happened
  (the harmed persons' households at the time).

Modules:

- graphs.households — household keys per home, spells, **a person's household on a date**
  (nearest mention at or before the date, else nearest after; see its docstring), residents.
- graphs.harm — harm / near harm from the configuration, event severity scores.
- graphs.rules — the rules, whole-population and vectorised (polars; scipy for components;
  networkx only on per-group subgraphs).
- graphs.pipeline — every rule from one frame, severity labels, finding keys, evidence and hashes.
- graphs.network — a neighbourhood as a networkx graph, Cytoscape JSON, GraphML and SVG.
"""
