"""`imdb-course review` in a real browser: grade two written answers and override a score through the page (Chromium via
Playwright), then check the gradebook rows, the CSV export and the feedback page. No training: the grading folder is built
the way `grading.pipeline.grade_one` stores it (GRADING_DIR/ASSIGNMENT/STUDENT/{executed.ipynb,result.json} + gradebook rows)."""
import csv, json, os, sqlite3, threading, time
from pathlib import Path

import nbformat
import pytest

from imdb_course.instructor.course import find_solutions
from imdb_course.records.gradebook import Gradebook, export_csv
from imdb_course.instructor.release import MD_STUB
from imdb_course.instructor.review import create_app, served_hosts
from imdb_course.grading.result import GradeResult

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
A = "01_epochs"
ROOT = Path(__file__).resolve().parents[1]


def _need_browser():
    why = None
    if not CHROMIUM.is_file(): why = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try: import playwright.sync_api  # noqa: F401
        except ImportError: why = "playwright is not installed (pip install playwright)"
    if why:
        if os.environ.get("CI"): pytest.fail(f"the browser test must run in CI: {why}")
        pytest.skip(why)


ANSWERS = {"ann": "About 40 % of the reviews are cut. A longer MAXLEN keeps more text but every epoch gets slower.",
           "bob": "Most reviews fit.", "cat": None}


def _result(folder:Path, student:str, sha:str) -> GradeResult:
    "A result as `grade_one` records it (written questions: points None, max from settings = 0)."
    auto = {"q1": (1.0, 1.0), "q2": (3.0, 3.0), "q3": (2.0, 2.0), "q4": (1.0, 2.0)}
    qs = {}
    for q in ("q1", "q1w", "q2", "q3", "q3w", "q4", "q4w"):
        if q in auto:
            qs[q] = {"points": auto[q][0], "max_points": auto[q][1], "messages": ["ok"], "diagnoses": [], "accuracy": None, "history": None}
        else:
            qs[q] = {"points": None, "max_points": 0.0, "messages": ["written answer: graded by the instructor"], "diagnoses": [],
                     "accuracy": None, "history": None}
    qs["q4"]["messages"] = ["accuracy 0.51 is near chance"]
    qs["q4"]["diagnoses"] = [{"level": "warning", "code": "corrupt-artifact", "message": "history.json could not be read", "hint": "call submit again"}]
    return GradeResult.from_dict({"assignment": A, "student": student, "file": f"/subs/{student}.ipynb", "sha256": sha, "params_hash": "h1",
            "params": {"EPOCHS": 1}, "status": "ok", "status_doc": "", "message": "ran to the end without errors", "notes": [],
            "errors": [], "codes": [], "questions": qs, "total": sum(v[0] for v in auto.values()), "max_total": 8.0,
            "executed": str(folder/"executed.ipynb"), "folder": str(folder), "started": "", "finished": "2026-12-01T20:00:00+00:00",
            "seconds": 1.0})


@pytest.fixture
def grading_dir(tmp_path):
    template = nbformat.read(ROOT/"assignments"/f"{A}.ipynb", as_version=4)
    out = tmp_path/"grading"
    with Gradebook(out) as gb:
        for student, text in ANSWERS.items():
            nb = nbformat.from_dict(json.loads(json.dumps(template)))
            if text:
                cell = next(c for c in nb.cells if c.metadata.get("imdb_course", {}).get("question") == "q1w")
                cell.source = cell.source.replace(MD_STUB, text)
            folder = out/A/student; folder.mkdir(parents=True)
            nbformat.write(nb, folder/"executed.ipynb")
            r = _result(folder, student, f"sha-{student}")
            (folder/"result.json").write_text(json.dumps(r.to_dict()))
            gb.record(r)
    return out


@pytest.fixture
def server(grading_dir):
    from werkzeug.serving import make_server
    app = create_app(grading_dir, grader="prof", solutions=find_solutions())
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["ALLOWED_HOSTS"] = served_hosts("127.0.0.1", srv.server_port)   # as `serve` pins it
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown(); t.join(5)


def test_grade_in_browser(grading_dir, server):
    _need_browser()
    from playwright.sync_api import sync_playwright
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server + "/")
        assert page.url.endswith(f"/a/{A}/")
        assert "9 of 9 written answers still to grade" in page.inner_text("#progress")
        assert "corrupt-artifact" in page.content()   # an item the autograder could not verify is listed
        page.screenshot(path="/tmp/review_overview.png", full_page=True)

        page.goto(f"{server}/a/{A}/q1w/ann")
        assert "What share of the reviews" in page.content()        # question text
        assert "the median review has about 175 words" in page.content()  # reference answer from the solution
        assert page.inner_text("#answer").startswith("About 40 %")   # ann's own answer, without the question text
        page.screenshot(path="/tmp/review_grade.png", full_page=True)
        page.keyboard.press("e"); page.keyboard.type("1")           # keys only: e, points, Tab, comment, Enter
        page.keyboard.press("Tab"); page.keyboard.type("Clear: share and cost both named.")
        page.keyboard.press("Enter"); page.wait_for_url(f"**/a/{A}/q1w/bob")
        assert page.inner_text("#student") == "bob"
        page.keyboard.press("e"); page.keyboard.type("5"); page.keyboard.press("Enter")   # out of range: refused
        page.wait_for_selector("#error")
        assert "outside 0–1" in page.inner_text("#error")
        page.fill("#points", "0.5"); page.fill("#comment", "Says what, not how much; the cost is missing.")
        page.click("button[type=submit]"); page.wait_for_url(f"**/a/{A}/q1w/cat")
        assert "still says" in page.content()                        # cat left the stub
        page.keyboard.press("k"); page.wait_for_url(f"**/a/{A}/q1w/bob")
        page.reload()
        assert page.input_value("#points") == "0.5"
        assert "7 of 9 written answers still to grade" in page.inner_text("#progress")
        page.keyboard.press("n"); page.wait_for_url(f"**/a/{A}/q2/bob")   # next question

        page.goto(f"{server}/a/{A}/q4/bob")                            # override an automatic score with a reason
        page.fill("#points", "2"); page.click("button[type=submit]")
        page.wait_for_selector("#error"); assert "reason" in page.inner_text("#error")
        page.fill("#points", "2"); page.fill("#comment", "curves checked by hand: the model learns")
        page.click("button[type=submit]"); page.wait_for_url(f"**/a/{A}/q4/cat")
        page.goto(f"{server}/a/{A}/q4/bob")
        assert "1 → 2" in page.content() and "prof" in page.content()  # override history
        page.screenshot(path="/tmp/review_override.png", full_page=True)
        page.goto((grading_dir/A/"bob"/"feedback.html").as_uri())   # the student's page, rewritten on save
        assert "Says what, not how much" in page.content()
        page.screenshot(path="/tmp/review_feedback.png", full_page=True)
        browser.close()
    print(f"browser part: {time.monotonic() - t0:.1f} s")

    con = sqlite3.connect(grading_dir/"gradebook.sqlite")
    rows = con.execute("SELECT student, question, points, max_points, comment, grader, submission_sha256 FROM manual ORDER BY student").fetchall()
    assert rows == [("ann", "q1w", 1.0, 1.0, "Clear: share and cost both named.", "prof", "sha-ann"),
                    ("bob", "q1w", 0.5, 1.0, "Says what, not how much; the cost is missing.", "prof", "sha-bob")]
    ov = con.execute("SELECT student, question, old_points, new_points, reason, grader FROM overrides").fetchall()
    assert ov == [("bob", "q4", 1.0, 2.0, "curves checked by hand: the model learns", "prof")]
    con.close()

    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(grading_dir, grading_dir/"grades.csv", A)))}
    assert (float(rows["ann"]["q1w"]), float(rows["ann"]["total"]), float(rows["ann"]["max_total"])) == (1.0, 8.0, 11.0)
    assert (float(rows["bob"]["q1w"]), float(rows["bob"]["q4"]), float(rows["bob"]["total"])) == (0.5, 2.0, 8.5)
    assert rows["cat"]["q1w"] == "" and float(rows["cat"]["max_total"]) == 11.0

    fb = (grading_dir/A/"ann"/"feedback.html").read_text()   # rewritten on save
    assert "Clear: share and cost both named." in fb and "<b>8</b> / 11 points" in fb
    summary = (grading_dir/A/"summary.html").read_text()
    assert "8.5 / 11" in summary

    # regrade: ann unchanged keeps her hand score, bob's file changed -> flagged, not counted
    with Gradebook(grading_dir) as gb:
        for student, sha in (("ann", "sha-ann"), ("bob", "sha-bob-v2")):
            gb.record(_result(grading_dir/A/student, student, sha))
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(grading_dir, grading_dir/"grades.csv", A)))}
    assert float(rows["ann"]["q1w"]) == 1.0 and rows["bob"]["q1w"] == "" and float(rows["bob"]["q4"]) == 1.0
    app = create_app(grading_dir, grader="prof", solutions=find_solutions())
    page = app.test_client().get(f"/a/{A}/q1w/bob").get_data(as_text=True)
    assert "The submission changed since prof gave it 0.5" in page
    assert "the submission changed since it was graded by hand" in app.test_client().get(f"/a/{A}/").get_data(as_text=True)


# --- who may talk to the page (issue 22 item 7): Host (DNS rebinding), per-session token, Origin/Referer -----------------

def _token(client, url):
    import re
    page = client.get(url, headers={"Host": "127.0.0.1:8000"}).get_data(as_text=True)
    return re.search(r'name="_csrf" value="([^"]+)"', page).group(1)


@pytest.fixture
def client(grading_dir):
    app = create_app(grading_dir, grader="prof", solutions=find_solutions(), allowed_hosts=served_hosts("127.0.0.1", 8000))
    return app.test_client()


URL = f"/a/{A}/q1w/ann"
OK = {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"}


def _manual_rows(grading_dir):
    con = sqlite3.connect(grading_dir/"gradebook.sqlite")
    try: return con.execute("SELECT student, points FROM manual").fetchall()
    finally: con.close()


@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "127.0.0.1:8001", "localhost.evil.example:8000", ""])
def test_foreign_host_refused(client, host):
    r = client.get(URL, headers={"Host": host})
    assert r.status_code == 421, (host, r.status_code)
    assert "DNS rebinding" in r.get_data(as_text=True) and "http://127.0.0.1:8000/" in r.get_data(as_text=True)


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"])
def test_own_host_answered(client, host):
    assert client.get(URL, headers={"Host": host}).status_code == 200


def test_rebinding_post_refused_before_anything_is_read(client, grading_dir):
    token = _token(client, URL)
    r = client.post(URL, data={"points": "1", "_csrf": token}, headers={"Host": "evil.example:8000", "Origin": "http://evil.example:8000"})
    assert r.status_code == 421 and _manual_rows(grading_dir) == []


def test_post_needs_the_session_token(client, grading_dir):
    _token(client, URL)                                            # the session exists, the form does not carry it
    r = client.post(URL, data={"points": "1"}, headers=OK)
    assert r.status_code == 403 and "session token" in r.get_data(as_text=True)
    r = client.post(URL, data={"points": "1", "_csrf": "guessed"}, headers=OK)
    assert r.status_code == 403
    assert _manual_rows(grading_dir) == []


def test_token_is_per_session(grading_dir):
    app = create_app(grading_dir, grader="prof", solutions=find_solutions(), allowed_hosts=served_hosts("127.0.0.1", 8000))
    a, b = app.test_client(), app.test_client()
    ta, tb = _token(a, URL), _token(b, URL)
    assert ta != tb and len(ta) >= 32
    assert b.post(URL, data={"points": "1", "_csrf": ta}, headers=OK).status_code == 403   # a's token in b's session
    assert a.post(URL, data={"points": "1", "_csrf": ta}, headers=OK).status_code == 303
    # a restarted server (new secret key) refuses the old page's form, with the fix
    again = create_app(grading_dir, grader="prof", solutions=find_solutions(), allowed_hosts=served_hosts("127.0.0.1", 8000)).test_client()
    r = again.post(URL, data={"points": "0", "_csrf": ta}, headers=OK)
    assert r.status_code == 403 and "reload the page" in r.get_data(as_text=True)


@pytest.mark.parametrize("headers,ok", [
    ({"Origin": "http://127.0.0.1:8000"}, True),
    ({"Referer": "http://127.0.0.1:8000/a/x/"}, True),                       # no Origin: the Referer decides
    ({"Origin": "http://evil.example"}, False),
    ({"Origin": "http://evil.example", "Referer": "http://127.0.0.1:8000/"}, False),   # Origin wins
    ({"Referer": "http://evil.example/page"}, False),
    ({}, False),                                                             # neither: refused
    ({"Origin": "null"}, False),
])
def test_origin_or_referer_checked(client, grading_dir, headers, ok):
    token = _token(client, URL)
    r = client.post(URL, data={"points": "1", "_csrf": token}, headers={"Host": "127.0.0.1:8000", **headers})
    assert r.status_code == (303 if ok else 403), (headers, r.status_code, r.get_data(as_text=True)[:300])
    assert (_manual_rows(grading_dir) == [("ann", 1.0)]) == ok


def test_session_cookie_is_strict(client):
    r = client.get(URL, headers={"Host": "127.0.0.1:8000"})
    cookie = r.headers["Set-Cookie"]
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie and cookie.startswith("imdb_course_review_")


# --- several graders at once (issue 26 item 4): WAL, versioned saves, reusable comments ------------------------------

def _start(grading_dir, grader):
    from werkzeug.serving import make_server
    app = create_app(grading_dir, grader=grader, solutions=find_solutions())
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["ALLOWED_HOSTS"] = served_hosts("127.0.0.1", srv.server_port)
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    return srv, t, f"http://127.0.0.1:{srv.server_port}"


def _open_rubric(page):
    page.evaluate("document.querySelector('details.rubric-edit').open = true")


def _manual(grading_dir):
    con = sqlite3.connect(grading_dir/"gradebook.sqlite")
    try: return {s: (p, c, g) for s, p, c, g in con.execute("SELECT student, points, comment, grader FROM manual WHERE question='q1w'")}
    finally: con.close()


def test_two_graders_in_two_browsers(grading_dir):
    "prof and a TA grade q1w at once, each in their own browser (two Playwright contexts) on their own server."
    _need_browser()
    from playwright.sync_api import sync_playwright
    from imdb_course.records.gradebook import verify_gradebook
    servers = [_start(grading_dir, "prof"), _start(grading_dir, "anon")]
    (_, _, u1), (_, _, u2) = servers
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            prof = browser.new_context().new_page()
            ta = browser.new_context().new_page()
            ta.goto(f"{u2}/a/{A}/q1w/ann")                        # the TA names themself (one server may serve several people)
            ta.fill("#grader", "ta"); ta.click("#grader-form button"); ta.wait_for_url(f"**/a/{A}/q1w/ann")
            assert ta.input_value("#grader") == "ta"
            prof.goto(f"{u1}/a/{A}/q1w/ann")                      # both have ann's answer open
            prof.fill("#points", "1"); prof.fill("#comment", "Clear: share and cost named.")
            prof.click("#grade-form button[type=submit]"); prof.wait_for_url(f"**/a/{A}/q1w/bob")
            ta.fill("#points", "0.5"); ta.fill("#comment", "too short")
            ta.click("#grade-form button[type=submit]")           # over prof's score, from the page loaded before it
            ta.wait_for_selector("#conflict")
            assert ta.inner_text("#theirs-points") == "1" and ta.inner_text("#mine-points") == "0.5"
            assert "prof gave 1" in ta.inner_text("#error") and "NOT saved" in ta.inner_text("#error")
            assert _manual(grading_dir)["ann"] == (1.0, "Clear: share and cost named.", "prof")   # theirs kept
            assert ta.input_value("#points") == "0.5"            # yours still in the form
            ta.click("#grade-form button[type=submit]"); ta.wait_for_url(f"**/a/{A}/q1w/bob")   # saved on purpose
            assert _manual(grading_dir)["ann"] == (0.5, "too short", "ta")

            # a reusable comment: prof defines it on bob, both apply it, the TA edits it once for everyone
            _open_rubric(prof)
            prof.fill("#new-comment input[name=points]", "-0.5"); prof.fill("#new-comment input[name=text]", "the cost is missing")
            prof.click("#new-comment button"); prof.wait_for_selector("#apply-1")
            prof.check("#apply-1"); prof.fill("#points", "1"); prof.click("#grade-form button[type=submit]")
            prof.wait_for_url(f"**/a/{A}/q1w/cat")
            ta.goto(f"{u2}/a/{A}/q1w/cat")                        # bob -> cat (ta is on bob's page already; go on)
            assert "the cost is missing" in ta.inner_text("fieldset.rubric")
            ta.check("#apply-1"); ta.fill("#points", "1"); ta.click("#grade-form button[type=submit]")
            ta.wait_for_url(f"**/a/{A}/q3w/ann")                  # last student: on to the next written question
            rows = {r["student"]: r for r in csv.DictReader(open(export_csv(grading_dir, grading_dir/"g.csv", A)))}
            assert (float(rows["bob"]["q1w"]), float(rows["cat"]["q1w"])) == (0.5, 0.5)
            ta.goto(f"{u2}/a/{A}/q1w/bob"); _open_rubric(ta)
            prof.goto(f"{u1}/a/{A}/q1w/bob"); _open_rubric(prof)
            ta.fill("#edit-comment-1 input[name=points]", "-0.25"); ta.fill("#edit-comment-1 input[name=text]", "the cost is not named")
            ta.click("#edit-comment-1 button"); ta.wait_for_url(f"**/a/{A}/q1w/bob")
            assert "-0.25" in ta.inner_text("#saved") and "= 0.75" in ta.inner_text("#saved")
            prof.fill("#edit-comment-1 input[name=points]", "-1"); prof.click("#edit-comment-1 button")   # from the old version
            prof.wait_for_selector("#conflict")
            assert "ta made it -0.25" in prof.inner_text("#error")
            page = prof.context.new_page(); page.goto((grading_dir/A/"cat"/"feedback.html").as_uri())
            assert "the cost is not named" in page.content()     # cat's feedback rewritten by the edit made on bob's page
            browser.close()
    finally:
        for srv, t, _ in servers: srv.shutdown(); t.join(5)
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(grading_dir, grading_dir/"g.csv", A)))}
    assert (float(rows["ann"]["q1w"]), float(rows["bob"]["q1w"]), float(rows["cat"]["q1w"])) == (0.5, 0.75, 0.75)
    m = _manual(grading_dir)
    assert (m["bob"][2], m["cat"][2]) == ("prof", "ta")        # each save names its grader
    con = sqlite3.connect(grading_dir/"gradebook.sqlite")
    assert con.execute("SELECT text, points, grader FROM comments").fetchall() == [("the cost is not named", -0.25, "ta")]
    assert con.execute("SELECT student, grader FROM applied ORDER BY student").fetchall() == [("bob", "prof"), ("cat", "ta")]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert verify_gradebook(grading_dir) == []                  # every row the graders wrote is signed


def test_concurrent_saves_lose_nothing(grading_dir):
    "Two graders' processes-worth of saves at once (threads, own connections): every score lands; a race on one answer is refused."
    from imdb_course.records.gradebook import ConflictError, ManualScores, verify_gradebook
    students = [f"s{i:02d}" for i in range(30)]
    barrier, errors = threading.Barrier(2), []

    def grader(name, mine):
        try:
            with ManualScores(grading_dir) as ms:
                barrier.wait()
                for s in mine:
                    ms.set_manual(A, s, "q1w", 1.0 if name == "prof" else 0.5, 1.0, name, name, "sha",
                                  expect=ms.version(A, s, "q1w"))
        except Exception as e: errors.append(e)
    ts = [threading.Thread(target=grader, args=("prof", students[::2])), threading.Thread(target=grader, args=("ta", students[1::2]))]
    for t in ts: t.start()
    for t in ts: t.join(60)
    assert errors == []
    con = sqlite3.connect(grading_dir/"gradebook.sqlite")
    got = dict(con.execute("SELECT student, grader FROM manual WHERE student LIKE 's%' AND question='q1w'").fetchall())
    con.close()
    assert got == {s: ("prof" if i % 2 == 0 else "ta") for i, s in enumerate(students)}

    # both load the same answer, both save: exactly one wins, the other is told whose score is there
    with ManualScores(grading_dir) as ms: seen = ms.version(A, "ann", "q1w")
    outcome, barrier = [], threading.Barrier(2)
    def save(name, pts):
        with ManualScores(grading_dir) as ms:
            barrier.wait()
            try: ms.set_manual(A, "ann", "q1w", pts, 1.0, "", name, "sha-ann", expect=seen); outcome.append((name, "saved"))
            except ConflictError as e: outcome.append((name, e.theirs["manual"]["grader"]))
    ts = [threading.Thread(target=save, args=("prof", 1.0)), threading.Thread(target=save, args=("ta", 0.0))]
    for t in ts: t.start()
    for t in ts: t.join(60)
    winner = next(n for n, o in outcome if o == "saved")
    loser = next((n, o) for n, o in outcome if o != "saved")
    assert len(outcome) == 2 and loser[1] == winner
    assert _manual(grading_dir)["ann"][2] == winner
    assert verify_gradebook(grading_dir) == []


def test_override_conflict_and_comment_rules(client, grading_dir):
    "An override made from an old page is refused (409, both values); comment points are bounded by the question."
    import re
    url = f"/a/{A}/q4/bob"
    page = client.get(url, headers={"Host": "127.0.0.1:8000"}).get_data(as_text=True)
    token, base = (re.search(rf'name="{n}" value="([^"]*)"', page).group(1) for n in ("_csrf", "base"))
    ok = client.post(url, data={"points": "2", "comment": "curves fine", "_csrf": token, "base": base}, headers=OK)
    assert ok.status_code == 303
    r = client.post(url, data={"points": "0", "comment": "no", "_csrf": token, "base": base}, headers=OK)
    assert r.status_code == 409 and "overrode it to 2" in r.get_data(as_text=True)
    from imdb_course.records.gradebook import ManualScores
    with ManualScores(grading_dir) as ms: assert ms.overrides(A)[("bob", "q4")]["new_points"] == 2.0
    r = client.post(f"/a/{A}/q1w/comments", data={"points": "5", "text": "x", "back": "ann", "_csrf": token}, headers=OK)
    assert r.status_code == 400 and "from −1 to 1" in r.get_data(as_text=True)
    r = client.post(f"/a/{A}/q1w/comments", data={"points": "-0.5", "text": " ", "back": "ann", "_csrf": token}, headers=OK)
    assert r.status_code == 400 and "needs a text" in r.get_data(as_text=True)
    with ManualScores(grading_dir) as ms: assert ms.comments(A) == []


@pytest.mark.parametrize("back,to", [("/a/x/q1w/ann", "/a/x/q1w/ann"), ("//evil.example/", "/"), ("/\\evil.example", "/"),
                                     ("https://evil.example/", "/"), ("", "/")])
def test_grader_name_per_session(client, grading_dir, back, to):
    "Each browser names its grader; the form's way back stays on this page."
    token = _token(client, URL)
    r = client.post("/grader", data={"grader": "  ta   two ", "back": back, "_csrf": token}, headers=OK)
    assert r.status_code == 303 and r.headers["Location"] == to
    page = client.get(URL, headers={"Host": "127.0.0.1:8000"}).get_data(as_text=True)
    assert 'value="ta two"' in page
    assert client.post("/grader", data={"grader": " ", "_csrf": token}, headers=OK).status_code == 400


# --- every cell behind a code answer (issue 25 item 7): task text, model cell, training cell ------------------------------

L = "03_embedding_lstm"


@pytest.fixture
def lstm_dir(tmp_path):
    "One student of 03 whose handed-in notebook is the solution as a student writes it (markers dropped); q1 lost points."
    nb = nbformat.read(ROOT/"solutions"/f"{L}.ipynb", as_version=4)
    for c in nb.cells: c.source = "\n".join(l for l in c.source.split("\n") if "### BEGIN SOLUTION" not in l and "### END SOLUTION" not in l)
    out = tmp_path/"grading"
    folder = out/L/"dan"; folder.mkdir(parents=True)
    nbformat.write(nb, folder/"executed.ipynb")
    qs = {q: {"points": p, "max_points": m, "messages": ["ok"], "diagnoses": [], "accuracy": None, "history": None}
          for q, p, m in (("q1", 1.5, 3.0), ("q2", 2.0, 2.0), ("q3", 2.0, 2.0))}
    qs.update({q: {"points": None, "max_points": 1.0, "pending_points": 1.0, "messages": ["written answer"], "diagnoses": []} for q in ("q2w", "q3w")})
    r = GradeResult.from_dict({"assignment": L, "student": "dan", "file": "/subs/dan.ipynb", "sha256": "sha-dan", "params_hash": "h1",
            "params": {"EPOCHS": 3}, "status": "ok", "status_doc": "", "message": "ran to the end without errors", "notes": [], "errors": [],
            "codes": [], "questions": qs, "total": 5.5, "max_total": 9.0, "executed": str(folder/"executed.ipynb"), "folder": str(folder),
            "started": "", "finished": "2026-12-01T20:00:00+00:00", "seconds": 1.0})
    (folder/"result.json").write_text(json.dumps(r.to_dict()))
    with Gradebook(out) as gb: gb.record(r)
    return out


def test_review_shows_every_cell_behind_an_answer(lstm_dir):
    "q1's page shows its task text, the model cell (where a mistake in the architecture is) and the training cell; not the set-up."
    _need_browser()
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server
    app = create_app(lstm_dir, grader="prof", solutions=find_solutions())
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["ALLOWED_HOSTS"] = served_hosts("127.0.0.1", srv.server_port)
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{srv.server_port}/a/{L}/q1/dan")
            shown = page.inner_text(".answer")
            assert "A regularised LSTM" in shown                                   # the task text above the model cell
            assert "layers.LSTM(32, kernel_regularizer=l2)" in page.inner_text("#cell-8")   # the model cell
            assert page.inner_text("#answer").startswith("run = train(model, data")       # the cell that hands q1 in
            assert "load_imdb_data" not in shown and "model2" not in shown               # neither the set-up nor q2
            page.screenshot(path="/tmp/review_cells_q1.png", full_page=True)
            page.goto(f"http://127.0.0.1:{srv.server_port}/a/{L}/q3/dan")            # the confusion matrix: from both models
            cells = [page.get_attribute(e, "id") for e in ["#cell-8", "#cell-10", "#cell-12", "#cell-15"]]
            assert cells == ["cell-8", "cell-10", "cell-12", "cell-15"]
            assert page.query_selector("#cell-18") is None                              # the explanations after it are not part of it
            browser.close()
    finally:
        srv.shutdown(); t.join(5)
