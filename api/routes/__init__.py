"""The API's routes, one module per family (service, persons, alerts, linkage, runs, users);
``api.app.create_app`` includes each module's ``router``, in ``ROUTERS`` order."""
