"""The 一网统管 cockpit: a Dash app reading the published DuckDB warehouse.

``dashboard.app.create_app(settings)`` builds the app. Everything that touches DuckDB lives in
:mod:`dashboard.data`; figures and components are pure functions of the data it returns.
"""
