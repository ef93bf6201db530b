-- Runs once, when the postgres container initialises its volume (docker-entrypoint-initdb.d).
-- core_dict is POSTGRES_DB; the simulator keeps its own database.
CREATE DATABASE dict_simulator;
