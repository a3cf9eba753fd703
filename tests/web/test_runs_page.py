"""The workspace's runs pages name no server path: the drop as the API shows it (relative to the
drops folder, or its last part when it was read from elsewhere)."""

from __future__ import annotations

import re


def test_the_runs_pages_show_the_drop_without_a_server_path(web, tmp_path):
    web.sign_in("admin", purpose=False)
    listed = web.client.get("/w/runs")
    assert listed.status_code == 200
    run_id = re.search(r'href="/w/runs/([^"]+)"', listed.text).group(1)
    one = web.client.get(f"/w/runs/{run_id}")
    assert one.status_code == 200
    assert "drop1 <span class=\"muted\">(not in the drops folder)</span>" in listed.text
    assert "drop1 (read from a folder outside the drops folder" in one.text
    for page in (listed.text, one.text):
        assert str(tmp_path) not in page and str(web.world["dir"]) not in page
        assert not re.search(r"(?<![\w.~:/-])/(?:tmp|work|root|home)/", page)
