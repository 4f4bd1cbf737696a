//! Hand-built cases whose expected figures are worked out by hand (date arithmetic in the
//! comments), and property tests on generated histories.

mod aggregates;
mod bitemporal;
mod from_source;
mod listing;
mod normalisation;
mod pgb;
mod properties;
mod support;
mod waits;

/// Rough sizes and timings for the report; run with
/// `cargo test --release -p jeugdpad-projections -- --ignored --nocapture scale`.
#[test]
#[ignore]
fn scale() {
    use std::time::Instant;
    let mut w = support::World::new();
    let n = 100_000u128;
    for i in 0..n {
        let t = support::tid(i);
        w.signal(t, "2026-01-01", if i % 2 == 0 { "noord" } else { "zuid" });
        w.assess(t, "2026-02-01");
        w.request(t, "2026-02-02", jeugdpad_domain::HelpForm::ParentingSupport);
        w.decide(
            t,
            "2026-03-01",
            jeugdpad_domain::HelpForm::ParentingSupport,
            true,
        );
        w.start(
            t,
            "2026-03-10",
            "E1",
            jeugdpad_domain::HelpForm::ParentingSupport,
        );
    }
    let started = Instant::now();
    let mut p = crate::Projections::new(crate::Norms::default());
    p.extend(w.log.iter().cloned());
    let rebuilt = started.elapsed();
    let started = Instant::now();
    let r = p.waiting_times(&crate::WaitQuery {
        group_by: Some(crate::WaitGrouping::Team),
        ..crate::WaitQuery::new(support::as_of("2026-06-01"))
    });
    let report = started.elapsed();
    let started = Instant::now();
    let _ = p.waiting_times(&crate::WaitQuery::new(crate::AsOf::known_on(
        support::day("2026-06-01"),
        support::instant("2025-01-01T00:00:00Z"),
    )));
    let known = started.elapsed();
    eprintln!(
        "{} events, {n} trajectories: rebuild {rebuilt:?}, report {report:?}, knownOn report {known:?}; \
         StoredFact {} B, Dated {} B, closed {}",
        w.log.len(),
        std::mem::size_of::<crate::StoredFact>(),
        std::mem::size_of::<crate::dated::Dated>(),
        r.measures[0].overall.closed,
    );
}
