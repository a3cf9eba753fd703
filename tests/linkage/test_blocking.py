"""The name-only blocking rules: off by default, and keyed only on rare names without a dob."""

from __future__ import annotations

from core.config import load_config
from core.store import Store
from linkage import features as F
from linkage.blocking import BLOCKING_RULES, NAME_ONLY_RULES, blocking_rules
from tests.linkage.test_run import add_mentions


def test_name_only_rules_follow_the_config():
    assert blocking_rules(load_config()["linkage"]) == BLOCKING_RULES
    assert blocking_rules({"name_only_blocking": True}) == BLOCKING_RULES + NAME_ONLY_RULES


def test_name_key_nodob_only_for_a_rare_name_without_a_dob(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        common = [{"record_id": f"C{i}", "forename": "john", "surname": "smith", "dob": "1980-01-01"}
                  for i in range(F.NAME_ONLY_MAX_BLOCK)]
        add_mentions(store, common + [
            {"record_id": "C-nodob", "forename": "john", "surname": "smith"},            # the 21st john smith
            {"record_id": "R-nodob", "forename": "ifeoma", "surname": "okafor"},         # a rare name
            {"record_id": "R", "forename": "ifeoma", "surname": "okafor", "dob": "1990-02-02"},
        ])
        F.build_features(store, F.FEATURES_TABLE)
        keys = dict(store.df(f"SELECT mention_id, name_key_nodob FROM {F.FEATURES_TABLE}").rows())
    assert keys["police:R-nodob"] == "ifeoma|okafor"
    assert keys["police:R"] is None and keys["police:C-nodob"] is None
