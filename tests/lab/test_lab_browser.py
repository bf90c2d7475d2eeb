"""Every demo page in real headless Chromium: loads without console errors, a control moves, the
live chart or heatmap fills with streamed points; a screenshot of each lands in test-artifacts/lab/."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.browser


def set_control(page, selector: str, value: str) -> None:
    """Move a control the way a user does: set its value, fire input and change."""
    page.eval_on_selector(
        selector,
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true}));"
        " el.dispatchEvent(new Event('change', {bubbles: true})); }",
        value,
    )


def trace_len(page, div: str, index: int) -> int:
    return page.evaluate(f"document.getElementById('{div}').data[{index}].x.length")


def test_home(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/")
    page.wait_for_function("document.getElementById('health').textContent.includes('training slots')")
    assert page.locator(".card").count() == 11
    assert page.locator(".card h2").all_inner_texts() == [
        "1. Overfitting in action", "2. Dropout", "3. Weight decay (L1 / L2)", "4. Early stopping",
        "5. Mixup, CutMix, label smoothing", "6. MC dropout", "7. Label smoothing", "8. Stochastic depth", "9. Data augmentation", "10. Knowledge distillation", "11. Final quiz",
    ]
    probe.screenshot("home")
    assert probe.errors == []


def test_overfit_page_streams_curves_and_boundary(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/overfit?dataset=moons&train_size=150&epochs=20&width=64&depth=2")
    page.wait_for_function("document.getElementById('code').textContent.includes('train_size=150')")
    set_control(page, "#label_noise", "0.3")  # a control is moved: URL and snippet follow
    page.wait_for_function("document.getElementById('code').textContent.includes('label_noise=0.3')")
    assert "label_noise=0.3" in page.url and "train_size=150" in page.url
    page.click("#train")
    page.wait_for_function("document.body.dataset.state === 'done' && document.body.dataset.epochs === '20'")
    first_ms = int(page.evaluate("document.body.dataset.firstPointMs"))
    print(f"overfit page: first streamed epoch {first_ms} ms after pressing Train")
    assert 0 < first_ms < 10_000  # a sanity bound; benchmarks/lab_latency.py measures it properly
    assert trace_len(page, "loss-chart", 0) == 20 and trace_len(page, "loss-chart", 1) == 20
    assert trace_len(page, "acc-chart", 1) == 20
    heat = page.evaluate("document.getElementById('boundary').data[0]")
    assert heat["type"] == "heatmap" and len(heat["z"]) == 50 and len(heat["z"][0]) == 50
    assert page.inner_text("#verdict") in ("underfitting", "good fit", "overfitting")
    assert page.inner_text("#best") == page.evaluate(
        "String(1 + (d => d.indexOf(Math.min(...d)))(document.getElementById('loss-chart').data[1].y))")
    probe.screenshot("overfit")
    assert probe.errors == []


def test_dropout_page_draws_real_masks(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/dropout?p=0.5&seed=3")
    page.wait_for_function("document.body.dataset.masks === '1'")
    set_control(page, "#p", "0.3")
    page.wait_for_function("document.body.dataset.masks === '2'")
    api = httpx.get(live_server.url + "/api/dropout/mask", params={"p": 0.3, "seed": 3}).json()
    assert page.locator("circle.unit.dropped").count() == api["dropped"]
    assert page.locator("circle.unit").count() == 4 + 8 + 8 + 2
    assert "p=0.3" in page.url
    panel = page.evaluate("document.getElementById('expectation').data.map(t => t.y)")
    assert panel == [api["panel"]["activation"], api["panel"]["train_mean"], api["panel"]["inference"]]
    page.click("#animate")  # a new mask each step
    page.wait_for_function("Number(document.body.dataset.masks) >= 5")
    page.click("#animate")
    probe.screenshot("dropout")
    page.select_option("#mode", "eval")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Inference')")
    assert page.locator("circle.unit.dropped").count() == 0
    assert probe.errors == []


def test_weight_decay_page_streams_both_boundaries(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/weight-decay?epochs=20&width=32&depth=2")
    page.select_option("#penalty", "l1")
    page.select_option("#lam", "0.01")
    page.wait_for_function("document.getElementById('code').textContent.includes('l1_penalty')")
    page.click("#train")
    page.wait_for_function("document.body.dataset.state === 'done' && document.body.dataset.epochs === '20'")
    for div in ("boundary-reg", "boundary-base"):
        heat = page.evaluate(f"document.getElementById('{div}').data[0]")
        assert heat["type"] == "heatmap" and len(heat["z"]) == 80  # this demo's finer grid
    assert page.evaluate("document.getElementById('boundary-reg').layout.title.text") == "L1, λ=0.01: epoch 20"
    assert trace_len(page, "loss-chart", 0) == 20 and trace_len(page, "loss-chart", 1) == 20
    assert trace_len(page, "norm-chart", 0) == 20
    reg, base = (int(v) for v in page.inner_text("#zeros").split(" of ")[0].split(" / "))
    assert reg > base
    probe.screenshot("weight-decay")
    assert probe.errors == []


def test_early_stopping_page_stops_and_continues(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/early-stopping?dataset=moons&lr=0.01&epochs=50&train_size=100&label_noise=0.3&width=32")
    set_control(page, "#patience", "4")
    page.wait_for_function("document.getElementById('code').textContent.includes('patience=4')")
    page.click("#train")
    page.wait_for_function("document.body.dataset.state === 'done'")
    stopped = int(page.inner_text("#stopped"))
    best = int(page.inner_text("#best"))
    assert stopped == best + 4
    assert trace_len(page, "loss-chart", 1) == stopped
    assert trace_len(page, "loss-chart", 3) == 0
    assert page.inner_text("#restored") != "–"
    page.click("#continue")
    page.wait_for_function("document.body.dataset.state === 'done' && document.body.dataset.epochs === '50'")
    assert int(page.inner_text("#stopped")) == stopped  # the same seed stops at the same epoch
    assert trace_len(page, "loss-chart", 1) == stopped
    assert trace_len(page, "loss-chart", 3) == 50 - stopped + 1  # dotted: what would have happened
    probe.screenshot("early-stopping")
    assert probe.errors == []


def test_mixup_page_shows_mixed_digits_and_soft_targets(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/mixup?alpha=1&seed=2")
    page.wait_for_function("document.body.dataset.samples === '1'")
    page.select_option("#method", "cutmix")
    page.wait_for_function("document.body.dataset.samples === '2'")
    assert "method=cutmix" in page.url
    assert page.locator(".digits canvas").count() == 12
    api = httpx.get(live_server.url + "/api/mix/sample", params={"method": "cutmix", "alpha": 1, "seed": 2}).json()
    assert page.evaluate("document.getElementById('soft-chart').data[0].z") == api["pairs"]["targets"]
    assert page.evaluate("document.getElementById('smooth-chart').data[0].z") == api["pairs"]["smoothed_targets"]
    captions = page.locator("#mixed figcaption").all_inner_texts()  # each pair shows its own lambda
    assert captions == [f"λ={lam:.2f}: {api['labels'][i]} + {api['labels'][api['pairs']['partner'][i]]}"
                        for i, lam in enumerate(api["pairs"]["lam"])]
    assert "from reglab.augment import cutmix" in page.inner_text("#code")
    probe.screenshot("mixup")
    assert probe.errors == []


def test_interactive_docs_render_with_no_internet(probe, live_server):
    # Every request that leaves the lab's own server is refused: Swagger UI must still render
    # one block per operation of the OpenAPI schema.
    page = probe.page
    outside: list[str] = []

    def only_local(route):
        url = route.request.url
        if url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_local)
    schema = httpx.get(live_server.url + "/openapi.json").json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    page.goto(live_server.url + "/docs")
    page.wait_for_function(f"document.querySelectorAll('.opblock').length === {operations}")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert sorted({p.replace("\u200b", "") for p in paths}) == sorted(schema["paths"])
    probe.screenshot("docs")
    assert outside == []
    assert probe.errors == []


def test_shared_link_with_bad_values_falls_back_notices_and_runs(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/overfit?dataset=cifar10&width=1000&lr=5&epochs=500&train_size=60&dropout=0.2&run=1")
    notice = page.locator("#url-notice")
    notice.wait_for()
    assert notice.inner_text() == (
        "This link had values the page cannot use, so their defaults are shown: "
        "dataset=cifar10 (expected one of moons, circles, spirals, xor, blobs, digits, mnist1d; using moons); "
        "width=1000 (expected one of 4, 8, 16, 32, 64, 128, 256; using 128); "
        "lr=5 (expected one of 0.001, 0.003, 0.01, 0.03; using 0.01).")
    assert page.input_value("#dataset") == "moons" and page.input_value("#width") == "128"
    assert page.input_value("#epochs") == "500" and page.input_value("#dropout") == "0.2"  # good values are kept
    assert "dataset=moons" in page.url and "width=128" in page.url and "lr=0.01" in page.url
    # &run=1 started training (500 epochs, the most a link may ask for, so the run cannot end before
    # the test pauses it): both twins stream; pause, then one step trains exactly one more epoch
    page.wait_for_function("!document.getElementById('pause').disabled")
    page.click("#pause")
    page.wait_for_function("document.getElementById('pause').textContent === 'Resume'")
    page.wait_for_timeout(600)
    paused = trace_len(page, "loss-chart", 0)
    page.wait_for_timeout(400)
    assert trace_len(page, "loss-chart", 0) == paused < 500
    base_paused = trace_len(page, "loss-chart", 2)  # the dashed unregularized twin, paused too
    page.click("#step")
    page.wait_for_function(f"document.getElementById('loss-chart').data[0].x.length === {paused + 1}")
    page.wait_for_timeout(400)
    assert trace_len(page, "loss-chart", 0) == paused + 1
    assert trace_len(page, "loss-chart", 2) == base_paused + 1  # one epoch of each twin
    page.click("#pause")  # resume
    page.wait_for_function("document.body.dataset.state === 'done'", timeout=180_000)
    assert trace_len(page, "loss-chart", 0) == 500 and trace_len(page, "loss-chart", 2) == 500
    assert page.inner_text("#sentence").startswith("With dropout 0.2 the train-validation accuracy gap")
    probe.screenshot("overfit-twin-bad-link")
    page.click("#reset")
    assert trace_len(page, "loss-chart", 0) == 0
    assert probe.errors == []


@pytest.mark.parametrize("path", ["/", "/overfit", "/dropout", "/weight-decay", "/early-stopping", "/mixup", "/mc-dropout", "/label-smoothing", "/stochastic-depth", "/augmentation", "/distillation", "/quiz"])
def test_phone_width_has_no_horizontal_overflow(browser, live_server, path):
    from lab_helpers import PageProbe

    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        probe = PageProbe(context.new_page())
        probe.page.goto(live_server.url + path)
        probe.page.wait_for_load_state("load")
        probe.page.wait_for_timeout(500)  # the scripts lay the page out
        width = probe.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at a 390 px viewport"
        probe.screenshot(f"phone{path.replace('/', '-') if path != '/' else '-home'}")
        assert probe.errors == []
    finally:
        context.close()


def test_quick_check_and_final_quiz_explain_and_remember(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/overfit")
    checks = page.locator("#quick-check form.question")
    assert checks.count() == 3
    first = checks.nth(0)
    first.locator("input[value='0']").check()  # a wrong answer
    first.locator("button").click()
    feedback = first.locator(".feedback")
    assert feedback.inner_text().startswith("Not quite: the answer is “Training loss keeps falling while validation")
    assert "the validation loss turns around" in feedback.inner_text()
    assert feedback.locator("a").get_attribute("href") == "/overfit?dataset=moons&train_size=60&label_noise=0.1&epochs=100&run=1"
    page.keyboard.press("Tab")  # keyboard: radio groups and buttons are reachable and labelled
    assert page.locator("label.choice input").count() == 12
    probe.screenshot("overfit-quick-check")

    page.goto(live_server.url + "/quiz")
    questions = page.locator("#quiz form.question")
    assert questions.count() >= 15
    assert page.inner_text("#quiz-score") == f"0 of {questions.count()} answered correctly (1 answered)."
    second = page.locator("#q-dropout-scaling")
    second.locator("input[value='1']").check()
    second.locator("button").click()
    assert second.locator(".feedback").inner_text().startswith("Right. Both versions keep the expected activation")
    assert page.inner_text("#quiz-score") == f"1 of {questions.count()} answered correctly (2 answered)."
    page.reload()  # progress is kept in this browser
    assert page.locator("#q-dropout-scaling .feedback").inner_text().startswith("Right.")
    assert page.locator("#q-overfit-signs .feedback").inner_text().startswith("Not quite")
    probe.screenshot("quiz")
    page.click("#quiz-reset")
    assert page.inner_text("#quiz-score") == f"0 of {questions.count()} answered correctly (0 answered)."
    assert probe.errors == []


@pytest.mark.parametrize("path, label", [("/dropout?p=0.3", "dropout 0.3"), ("/mixup?alpha=1", "mixup (alpha 1)"),
                                         ("/label-smoothing?label_smoothing=0.2", "label smoothing 0.2"),
                                         ("/augmentation?strength=0.3", "input jitter 0.3")])
def test_dropout_and_mixup_pages_train_with_and_without(probe, live_server, path, label):
    page = probe.page
    page.goto(live_server.url + path)
    page.click("#twin-train")
    page.wait_for_function("document.body.dataset.twin === 'done'", timeout=90_000)
    assert [trace_len(page, "twin-loss", i) for i in range(4)] == [100] * 4
    for div in ("twin-reg", "twin-base"):
        heat = page.evaluate(f"document.getElementById('{div}').data[0]")
        assert heat["type"] == "heatmap" and len(heat["z"]) == 50
    assert page.inner_text("#twin-sentence").startswith(f"With {label} the train-validation accuracy gap")
    probe.screenshot("twin" + path.split("?")[0].replace("/", "-"))
    assert probe.errors == []


def test_mc_dropout_page_maps_mean_and_spread(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/mc-dropout?epochs=30&samples=50&run=1")
    page.wait_for_function("document.body.dataset.state === 'done'", timeout=60_000)
    spread = page.evaluate("document.getElementById('mc-spread').data[0]")
    assert spread["type"] == "heatmap" and len(spread["z"]) == 50
    far, train = float(page.inner_text("#spread-far")), float(page.inner_text("#spread-train"))
    assert far > train
    assert page.locator("#quick-check form.question").count() == 2
    probe.screenshot("mc-dropout")
    assert probe.errors == []


def test_stochastic_depth_page_shows_the_schedule_per_block(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/stochastic-depth?blocks=4&max_rate=0.6")
    page.click("#twin-train")
    page.wait_for_function("document.body.dataset.twin === 'done'", timeout=90_000)
    bars = page.evaluate("document.getElementById('sd-blocks').data.map(t => t.y)")
    assert bars[0] == pytest.approx([0.0, 0.2, 0.4, 0.6], abs=1e-4)
    assert bars[1][0] == 0 and all(abs(o - r) < 0.2 for o, r in zip(bars[1], bars[0]))
    assert [trace_len(page, "twin-loss", i) for i in range(4)] == [100] * 4
    assert page.inner_text("#twin-sentence").startswith("With stochastic depth (last block 0.6)")
    probe.screenshot("stochastic-depth")
    assert probe.errors == []


def test_augmentation_view_shows_original_and_augmented_samples(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/augmentation?dataset=digits&strength=1&seed=2")
    page.wait_for_function("document.body.dataset.samples === '1'")
    assert page.locator("#aug-original canvas").count() == 6 and page.locator("#aug-augmented canvas").count() == 6
    page.select_option("#dataset", "mnist1d")
    page.wait_for_function("document.body.dataset.samples === '2'")
    api = httpx.get(live_server.url + "/api/augment/sample", params={"dataset": "mnist1d", "strength": 1, "seed": 2}).json()
    traces = page.evaluate("document.getElementById('aug-plot').data.length")
    assert traces == 12 and api["op"] == "circular shift" and api["amount"] == 10
    probe.screenshot("augmentation")
    assert probe.errors == []


def test_distillation_page_shows_temperature_and_both_students(probe, live_server):
    page = probe.page
    page.goto(live_server.url + "/distillation?temperature=4")
    page.click("#twin-train")
    page.wait_for_function("document.body.dataset.teacher === 'done'", timeout=90_000)
    bars = page.evaluate("document.getElementById('kd-temperature').data.map(t => t.y)")
    assert len(bars) == 4 and all(len(b) == 5 for b in bars)
    assert all(b[0] >= b[-1] for b in bars)  # higher T: a flatter, less certain target
    page.wait_for_function("document.body.dataset.twin === 'done'", timeout=120_000)
    assert [trace_len(page, "twin-loss", i) for i in range(4)] == [300] * 4
    assert page.inner_text("#twin-sentence").startswith("The student with the teacher's soft targets (T=4)")
    probe.screenshot("distillation")
    assert probe.errors == []
