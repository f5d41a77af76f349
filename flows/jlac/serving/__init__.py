"""The PostgreSQL serving copy of the warehouse, for BI tools.

* ``types``   DuckDB column types -> PostgreSQL column types (and how each value travels in CSV);
* ``target``  where the copy lives (a team's server from ``JLAC_POSTGRES_URL``, or the local cluster) and
  the reader role's privileges;
* ``cluster`` the local cluster under the warehouse folder that ``jlac serve-sql`` runs;
* ``load``    ``catch_up``: the one function that brings the copy to the published warehouse (used by the
  publish hook after every refresh and by ``jlac serve-sql`` at start and after each publish);
* ``status``  the copy's version and lag, for ``jlac status``.
"""
