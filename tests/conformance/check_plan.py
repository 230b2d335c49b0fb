"""A whole plan (the sample landscape) against reference tools:
numpy-financial (NPV and IRR of the plan's yearly cash flows), HiGHS through
highspy (the road portfolio's and parcel selection's optimal objectives,
solved from the published per-segment and per-parcel figures; the
conservation funding LP, rebuilt from conservation.csv and the funding
sources; the capital continuum's most commercial money per phase, rebuilt
from capital_lines.csv and the capital terms), scikit-learn (held-out AUC
of the risk model; its block cross-validation and edge-distance benchmark
refitted with LogisticRegression on the same folds)."""
import csv
import json
import os
import shutil
import tomllib

import highspy
import numpy as np
import numpy_financial as npf
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from common import close, greenhalo

LANDSCAPE = os.environ.get("CONFORMANCE_LANDSCAPE", "data/sample/landscape.toml")


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def solve_01(values, costs, budget, areas=None, target=None):
    """max values·x, costs·x <= budget, (areas·x >= target), x binary; gap 0."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    n = len(values)
    inf = highspy.kHighsInf
    for v in values:
        h.addVar(0.0, 1.0)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), -np.asarray(values, dtype=float))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger] * n))
    idx = np.arange(n, dtype=np.int32)
    h.addRow(-inf, budget, n, idx, np.asarray(costs, dtype=float))
    if areas is not None:
        h.addRow(target, inf, n, idx, np.asarray(areas, dtype=float))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(h.getModelStatus())
    return -h.getInfo().objective_function_value


def solve_next_maximal(values, costs, budget, known, fixed_out=()):
    """The best maximal 0/1 choice other than the `known` ones (sets of
    indices): max values·x, costs·x <= budget, for each known set at least
    one item different, and every item left out costing more than the
    budget the choice leaves (by US$1). None when infeasible. Written from
    the definition, with highspy's own API."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    n = len(values)
    inf = highspy.kHighsInf
    for i in range(n):
        h.addVar(0.0, 0.0 if i in fixed_out else 1.0)
    idx = np.arange(n, dtype=np.int32)
    h.changeColsCost(n, idx, -np.asarray(values, dtype=float))
    h.changeColsIntegrality(n, idx, np.array([highspy.HighsVarType.kInteger] * n))
    c = np.asarray(costs, dtype=float)
    h.addRow(-inf, budget, n, idx, c)
    for i in range(n):
        if i in fixed_out:
            continue
        floor = budget - c[i] + 1.0
        if floor > 0:
            coef = c.copy()
            coef[i] += floor
            h.addRow(floor, inf, n, idx, coef)
    for k in known:
        coef = np.array([-1.0 if i in k else 1.0 for i in range(n)])
        h.addRow(1.0 - len(k), inf, n, idx, coef)
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kInfeasible:
        return None
    assert st == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(st)
    x = h.getSolution().col_value
    return -h.getInfo().objective_function_value, {i for i in range(n) if x[i] > 0.5}


def run(results, work):
    out = os.path.join(work, "out")
    if os.path.exists(out) and os.path.exists(os.path.join(out, "summary.json")):
        shutil.rmtree(out)
    os.makedirs(work, exist_ok=True)
    greenhalo("run", LANDSCAPE, "-o", out)
    summary = json.load(open(os.path.join(out, "summary.json")))
    with open(os.path.join(out, "landscape.resolved.toml"), "rb") as f:
        cfg = tomllib.load(f)
    econ = cfg["economics"]

    def npv_irr():
        flows = rows(os.path.join(out, "finance_cashflows.csv"))
        price = econ["carbon_price_usd_per_tco2"]
        net = []
        for r in flows:
            f = {k: float(v) for k, v in r.items()}
            cost = sum(v for k, v in f.items() if k.endswith("_cost_usd"))
            benefit = (f["roads_benefit_usd"] + f["parcels_net_revenue_usd"]
                       + price * (f["parcels_tco2"] + f["parcels_avoided_tco2"]
                                  + f["conservation_avoided_tco2"]
                                  - f["roads_emitted_tco2"]))
            net.append(benefit - cost)
        fin = summary["finance"]
        # greenhalo's flows are at the end of years 1..H; numpy-financial's
        # npv puts its first value at t = 0, so year 0 is a zero.
        ref_npv = npf.npv(econ["discount_rate"], [0.0] + net)
        ref_irr = npf.irr([0.0] + net)
        assert close(fin["npv_usd"], ref_npv, 1e-9), f"NPV {fin['npv_usd']} vs numpy-financial {ref_npv}"
        assert close(fin["irr"], ref_irr, 1e-6), f"IRR {fin['irr']} vs numpy-financial {ref_irr}"
        return f"(NPV US${ref_npv:,.2f}, IRR {ref_irr:.6f})"

    def road_appraisals():
        # Each segment's appraisal rebuilt from its published figures: the
        # works in year 0, then the first year's road-user benefit growing
        # with the traffic, less the extra maintenance, for H years.
        segs = rows(os.path.join(out, "roads.csv"))
        ru = cfg["road_upgrades"]
        r, H, g = econ["discount_rate"], econ["horizon_years"], ru["traffic_growth"]
        worst, n_irr = 0.0, 0
        for s in segs:
            b1, m, cost = (float(s["annual_benefit_usd"]), float(s["extra_maintenance_usd_per_year"]),
                           float(s["cost_usd"]))
            flows = [-cost] + [b1 * (1 + g) ** (t - 1) - m for t in range(1, H + 1)]
            ref = npf.npv(r, flows)
            got = float(s["npv_econ_usd"])
            assert close(got, ref, 1e-9), f"segment {s['id']}: NPV {got} vs numpy-financial {ref}"
            worst = max(worst, abs(got - ref) / max(abs(ref), 1.0))
            if s["eirr"] not in ("", None):
                ref_irr = npf.irr(flows)
                assert abs(float(s["eirr"]) - ref_irr) < 1e-6, f"segment {s['id']}: EIRR {s['eirr']} vs {ref_irr}"
                n_irr += 1
            # Switching values: the NPV at that cost rise (benefit fall) is 0.
            pv_b = npf.npv(r, [0.0] + [b1 * (1 + g) ** (t - 1) for t in range(1, H + 1)])
            pv_c = cost + npf.npv(r, [0.0] + [m] * H)
            if s["switch_cost_econ_pct"] not in ("", None):
                up = float(s["switch_cost_econ_pct"]) / 100
                assert abs(pv_b - pv_c * (1 + up)) <= 1e-6 * pv_b, f"segment {s['id']}: cost switching value"
            if s["switch_benefit_econ_pct"] not in ("", None):
                down = float(s["switch_benefit_econ_pct"]) / 100
                assert abs(pv_b * (1 - down) - pv_c) <= 1e-6 * pv_b, f"segment {s['id']}: benefit switching value"
        return f"({len(segs)} segments, {n_irr} EIRRs, worst NPV difference {worst:.1e})"

    def road_portfolio():
        segs = rows(os.path.join(out, "roads.csv"))
        budget = cfg["road_upgrades"]["road_budget_usd"]
        cand = [s for s in segs if s["class"] in ("improve", "improve_with_safeguards")
                and float(s["npv_net_usd"]) > 0 and float(s["cost_usd"]) <= budget]
        ref = solve_01([float(s["npv_net_usd"]) for s in cand], [float(s["cost_usd"]) for s in cand], budget)
        got = summary["roads"]["portfolio"]["npv_net_first_solve_usd"]
        assert close(got, ref, 1e-6), f"greenhalo {got} vs HiGHS {ref}"
        return f"({len(cand)} candidates, optimum US${ref:,.2f})"

    def road_alternatives():
        # The listed alternatives, from road_alternatives.csv and the values
        # of the choice in roads.csv: each distinct, within the gap of the
        # best maximal set, and the k-th the best maximal set left once
        # the portfolio and those before it are excluded (highspy).
        segs = {s["id"]: s for s in rows(os.path.join(out, "roads.csv"))}
        alts = rows(os.path.join(out, "road_alternatives.csv"))
        ru = cfg["road_upgrades"]
        assert not ru["force_in"], "the check assumes nothing forced in"
        budget = ru["road_budget_usd"]
        cand = [i for i, s in segs.items() if s["value_in_choice_usd"] not in ("", None)
                and float(s["value_in_choice_usd"]) > 0 and float(s["cost_usd"]) <= budget]
        pos = {i: k for k, i in enumerate(cand)}
        v = [float(segs[i]["value_in_choice_usd"]) for i in cand]
        c = [float(segs[i]["cost_usd"]) for i in cand]
        sets = [frozenset(a["ids"].split()) for a in alts]
        assert len(set(sets)) == len(sets), "alternatives repeat"
        assert alts[0]["what"] == "the portfolio"
        assert sets[0] == frozenset(summary["roads"]["portfolio"]["segments"])
        best, _ = solve_next_maximal(v, c, budget, [])
        gap = ru["alternatives_gap"]
        known = [{pos[i] for i in sets[0]}]
        for a, s in zip(alts[1:], sets[1:]):
            got = sum(v[pos[i]] for i in s)
            assert close(got, float(a["value_in_choice_usd"]), 1e-9)
            assert got >= best * (1 - gap) - 1.0, f"alternative {a['alternative']} outside the gap"
            ref, _ = solve_next_maximal(v, c, budget, known)
            assert close(got, ref, 1e-6), f"alternative {a['alternative']}: {got} vs HiGHS {ref}"
            known.append({pos[i] for i in s})
        if len(alts) - 1 < ru["alternatives"]:
            nxt = solve_next_maximal(v, c, budget, known)
            assert nxt is None or nxt[0] < best * (1 - gap) - 1.0 + 1e-6 * best, \
                f"a set within the gap is missing: {nxt[0]}"
        # Each funded segment's importance (on the choice's values): the
        # set re-chosen without it is the best on those values (highspy).
        imp = summary["roads"]["portfolio"]["importance"]
        assert imp["method"] == "choice"
        chosen = set(summary["roads"]["portfolio"]["segments"])
        for e in imp["segments"]:
            again = (chosen - {e["id"]} - set(e["also_dropped"])) | set(e["replaced_by"])
            got = sum(v[pos[i]] for i in again)
            k = pos[e["id"]]
            fixed = [(x if i != k else 0.0) for i, x in enumerate(v)]
            ref = solve_01(fixed, c, budget)
            assert close(got, ref, 1e-6), f"importance of {e['id']}: re-chosen set {got} vs HiGHS {ref}"
        return f"({len(alts) - 1} alternatives within {gap:.0%}, {len(imp['segments'])} importances)"

    def parcel_selection():
        ps = rows(os.path.join(out, "parcels.csv"))
        cand = [p for p in ps if p["transition"] != "keep_current_use"]
        t = cfg["transitions"]
        # Each parcel's published value is at its establishment year (or,
        # not selected, the year it would get); once selection and schedule
        # agree, the selection is the exact optimum of those values. Where
        # the target cannot be met, the best selection within the budget.
        assert summary["parcels"]["schedule_settled"], summary["parcels"]["schedule_note"]
        target = summary["parcels"]["target_ha"] if summary["parcels"]["target_met"] else 0.0
        ref = solve_01([float(p["total_npv_usd"]) for p in cand], [float(p["investment_usd"]) for p in cand],
                       t["parcel_budget_usd"], [float(p["area_ha"]) for p in cand], target)
        got = sum(float(p["total_npv_usd"]) for p in ps if p["selected"] == "true")
        assert close(got, ref, 1e-6), f"greenhalo {got} vs HiGHS {ref}"
        return f"({len(cand)} candidates, optimum US${ref:,.2f})"

    def parcel_groups():
        # Each selected group's importance (a transition in a phase): the
        # best selection on parcels.csv's values without the group's
        # parcels, against the best with them (highspy). On the sample as
        # it is (its budget buys every parcel worth one) and with a budget
        # that binds (other parcels then make up for a group).
        tight = os.path.join(work, "tight-budget")
        if os.path.exists(tight):
            shutil.rmtree(tight)
        greenhalo("run", LANDSCAPE, "-o", tight, "--set", "transitions.parcel_budget_usd=15e6")
        said = []
        for folder in (out, tight):
            s = json.load(open(os.path.join(folder, "summary.json")))
            with open(os.path.join(folder, "landscape.resolved.toml"), "rb") as f:
                t = tomllib.load(f)["transitions"]
            ps = rows(os.path.join(folder, "parcels.csv"))
            cand = [p for p in ps if p["transition"] != "keep_current_use"]
            target = s["parcels"]["target_ha"] if s["parcels"]["target_met"] else 0.0

            def best(keep):
                kept = [p for p in cand if keep(p)]
                try:
                    return solve_01([float(p["total_npv_usd"]) for p in kept],
                                    [float(p["investment_usd"]) for p in kept],
                                    t["parcel_budget_usd"], [float(p["area_ha"]) for p in kept], target)
                except AssertionError:
                    return None
            full = best(lambda p: True)
            groups = s["parcels"]["importance"]
            assert groups, "no group importance"
            below = 0
            for g in groups:
                def out_of(p, g=g):
                    return not (p["selected"] == "true" and p["transition"] == g["transition"]
                                and p["phase"] == str(g["phase"]))
                ref = best(out_of)
                if ref is None:
                    assert g["firmness"] == "needed_for_the_area_target", g
                    continue
                assert close(g["loss_usd"], max(full - ref, 0.0), 0.0, 1e-6 * full + 2.0), \
                    f"{folder}: {g['transition']} phase {g['phase']}: {g['loss_usd']} vs HiGHS {full - ref}"
                below += g["loss_usd"] < 0.99 * g["value_usd"]
            said.append(f"{len(groups)} groups, {below} made up for in part")
        assert below > 0, "with a budget that binds, some group is made up for in part"
        return "(" + "; ".join(said) + ")"

    def funding_lp():
        areas = rows(os.path.join(out, "conservation.csv"))
        fp = cfg["conservation_funding"]
        H = econ["horizon_years"]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        var = {}
        for si, s in enumerate(fp["sources"]):
            avail = max(s["usd_per_year"], 0) * min(s["years"], H) / H
            for ai, a in enumerate(areas):
                req = float(a["required_usd_per_year"])
                if s["eligibility"] == "any":
                    ok = True
                elif s["eligibility"] == "categories":
                    ok = any(c and c in a["category"] for c in s["categories"])
                else:
                    ok = float(a["threat_share"]) >= fp["min_threat_share"] and float(a["threat_ha"]) > 0
                if avail > 0 and req > 0 and ok:
                    var[(si, ai)] = h.getNumCol()
                    h.addVar(0.0, highspy.kHighsInf)
                    h.changeColCost(var[(si, ai)], -float(a["value_usd"]) / req)
        inf = highspy.kHighsInf
        for si, s in enumerate(fp["sources"]):
            cols = [c for (i, _), c in var.items() if i == si]
            if cols:
                avail = max(s["usd_per_year"], 0) * min(s["years"], H) / H
                h.addRow(-inf, avail, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
        for ai, a in enumerate(areas):
            cols = [c for (_, j), c in var.items() if j == ai]
            if cols:
                h.addRow(-inf, float(a["required_usd_per_year"]), len(cols),
                         np.array(cols, dtype=np.int32), np.ones(len(cols)))
        h.run()
        ref = -h.getInfo().objective_function_value
        got = sum(float(a["avoided_value_usd"]) for a in areas)
        assert close(got, ref, 1e-6), f"greenhalo {got} vs HiGHS {ref}"
        return f"({len(var)} allocations, optimum US${ref:,.2f})"

    def capital_lp():
        lines = rows(os.path.join(out, "capital_lines.csv"))
        fin = cfg["finance"]
        hurdle = cfg["transitions"]["hurdle_rate"]
        inf = highspy.kHighsInf
        checked = []
        for k, stack in enumerate(summary["finance"]["capital_stack"]):
            ls = [l for l in lines if int(l["phase"]) == k + 1 and float(l["amount_usd"]) > 0]
            if not ls:
                continue
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            # Per line: commercial c, concessional q, grant g, cover G (US$ M).
            for _ in ls:
                for cost in (-1.0, 0.0, 0.0, 0.0):
                    h.addVar(0.0, inf)
                    h.changeColCost(h.getNumCol() - 1, cost)
            for i, l in enumerate(ls):
                a = float(l["amount_usd"]) / 1e6
                c, q, g, G = 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3
                h.addRow(a, a, 3, np.array([c, q, g], dtype=np.int32), np.ones(3))
                r = max(float(l["expected_return"]), 0.0)
                h.addRow(-inf, r * a, 3, np.array([c, q, G], dtype=np.int32),
                         np.array([hurdle, fin["concessional_rate"], fin["guarantee_fee"]]))
                h.addRow(0.0, inf, 2, np.array([G, c], dtype=np.int32),
                         np.array([1.0, -float(l["cover_per_dollar"])]))
            n = len(ls)
            h.addRow(-inf, fin["concessional_usd_per_phase"][k] / 1e6, n,
                     np.array([4 * i + 1 for i in range(n)], dtype=np.int32), np.ones(n))
            h.addRow(-inf, fin["guarantee_usd_per_phase"][k] / 1e6, n,
                     np.array([4 * i + 3 for i in range(n)], dtype=np.int32), np.ones(n))
            h.run()
            ref = -h.getInfo().objective_function_value * 1e6
            got = sum(float(l["commercial_usd"]) for l in ls)
            assert close(got, ref, 1e-6), f"phase {k + 1}: greenhalo {got} vs HiGHS {ref}"
            checked.append(f"phase {k + 1} US${ref:,.0f}")
        return "(" + ", ".join(checked) + ")"

    def auc():
        hold = rows(os.path.join(out, "risk_holdout.csv"))
        y = [int(r["lost"]) for r in hold]
        p = [float(r["predicted_period_probability"]) for r in hold]
        ref = roc_auc_score(y, p)
        got = summary["risk"]["auc_holdout"]
        assert abs(got - ref) <= 0.01, f"greenhalo {got} vs scikit-learn {ref}"
        return f"({len(y)} held-out cells, AUC {ref:.4f}, difference {abs(got - ref):.1e})"

    def block_cv():
        # greenhalo's folds, drivers and labels; each fold refitted by
        # scikit-learn (L2 = 1/C on drivers standardised on the training
        # folds, intercept free) and scored on the fold left out.
        cv = rows(os.path.join(out, "risk_cv.csv"))
        model = json.load(open(os.path.join(out, "risk_model.json")))
        v = model["validation"]
        drivers = ["ln_travel_time_min", "road_distance_km", "edge_distance_km",
                   "slope_deg", "elevation_km", "protected"]
        X = np.array([[float(r[d]) for d in drivers] for r in cv])
        y = np.array([int(r["lost"]) for r in cv])
        fold = np.array([int(r["fold"]) for r in cv])
        near = X[:, 1] <= v["near_road_km"]
        l2 = cfg["risk"]["l2"]
        worst = 0.0
        for name, cols, got_folds, got_near, col in [
            ("model", list(range(6)), v["auc_block_cv_folds"], v["auc_near_roads"], "model_probability"),
            ("benchmark", [2], v["benchmark_auc_block_cv_folds"], v["benchmark_auc_near_roads"],
             "benchmark_probability"),
        ]:
            pooled = np.zeros(len(y))
            for f in range(v["folds"]):
                tr, te = fold != f, fold == f
                Xt = X[tr][:, cols]
                mu, sd = Xt.mean(axis=0), Xt.std(axis=0)
                keep = sd > 1e-12
                z = lambda A: (A[:, cols][:, keep] - mu[keep]) / sd[keep]
                lr = LogisticRegression(C=1.0 / l2, tol=1e-10, max_iter=10000)
                lr.fit(z(X[tr]), y[tr])
                p = lr.predict_proba(z(X[te]))[:, 1]
                pooled[te] = p
                ref = roc_auc_score(y[te], p)
                own = roc_auc_score(y[te], [float(cv[i][col]) for i in np.flatnonzero(te)])
                assert abs(own - got_folds[f]) <= 1e-9, f"{name} fold {f}: reported {got_folds[f]} vs its own predictions {own}"
                assert abs(got_folds[f] - ref) <= 0.005, f"{name} fold {f}: greenhalo {got_folds[f]} vs scikit-learn {ref}"
                worst = max(worst, abs(got_folds[f] - ref))
            ref_near = roc_auc_score(y[near], pooled[near])
            assert abs(got_near - ref_near) <= 0.005, f"{name} near roads: greenhalo {got_near} vs scikit-learn {ref_near}"
            worst = max(worst, abs(got_near - ref_near))
        return (f"({len(y)} cells, {v['folds']} folds of {v['block_km']} km blocks; AUC {v['auc_block_cv']:.4f}, "
                f"benchmark {v['benchmark_auc_block_cv']:.4f}; worst difference {worst:.1e})")

    results.run("plan_npv_irr_numpy_financial", npv_irr)
    results.run("plan_capital_stack_highs", capital_lp)
    results.run("plan_road_appraisals_numpy_financial", road_appraisals)
    results.run("plan_road_portfolio_highs", road_portfolio)
    results.run("plan_road_alternatives_importance_highs", road_alternatives)
    results.run("plan_parcel_selection_highs", parcel_selection)
    results.run("plan_parcel_group_importance_highs", parcel_groups)
    results.run("plan_conservation_lp_highs", funding_lp)
    results.run("plan_risk_auc_scikit_learn", auc)
    results.run("plan_risk_block_cv_scikit_learn", block_cv)
