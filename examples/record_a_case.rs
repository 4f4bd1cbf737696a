//! Records one synthetic youth-care case from signal to closure in a fresh store and prints its
//! timeline and the figures the domain derives from it.
//!
//! Shows: the application layer (`jeugdpad_app::record`) turning commands into durable events,
//! a rule refusing a wrong step with a sentence a consultant understands, and `verify`.
//!
//! Run: `cargo run -p jeugdpad-tests --example record_a_case`

use std::sync::Arc;

use jeugdpad_app::{load, record, Context, FreeText, Request};
use jeugdpad_domain::{
    AssessmentConclusion, CloseReason, DateRule, HelpForm, HelpResult, TrajectoryId,
};
use jeugdpad_store::Store;
use jeugdpad_tests::{assess, assign, close, date, end, grant, open, request, start};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(&dir.path().join("data"))?);
    let trajectory = TrajectoryId::from_uuid(uuid::Uuid::new_v4());
    let context = Context {
        recorded_by: "consultant-example".to_owned(),
        today: date("2027-02-09"),
        dates: DateRule::default(),
        correlation_id: None,
    };
    // Free text (correction reasons) is sealed under the youth's key in the store's vault.
    let free_text = FreeText::new(store.vault()?);

    let case = [
        open("2026-01-05", "sk-example-0001", "noord"),
        assign("2026-01-07", "consultant-example"),
        assess("2026-02-04", AssessmentConclusion::LightHelp),
        start("2026-02-05", "E1", HelpForm::BuurtgezinPrevention),
        end("2026-05-05", "E1", HelpResult::PartlyMet),
        request("2026-05-06", HelpForm::SpecialistAmbulant),
        grant("2026-06-04", HelpForm::SpecialistAmbulant),
        start("2026-06-14", "E2", HelpForm::SpecialistAmbulant),
        end("2026-10-12", "E2", HelpResult::GoalsMet),
        close("2026-10-13", CloseReason::GoalsMet),
    ];
    for command in case {
        let request = Request {
            trajectory,
            command,
            expected_version: None,
            event_id: None,
        };
        let recorded = record(&store, &free_text, &request, &context).await?;
        println!(
            "recorded at position {:>2}: {:?}",
            recorded.outcome.last_position,
            recorded.trajectory.facts().last().map(|f| f.event.kind())
        );
    }

    // A step after closure is refused, and nothing is written.
    let late = Request {
        trajectory,
        command: assign("2026-11-01", "consultant-other"),
        expected_version: None,
        event_id: None,
    };
    if let Err(refusal) = record(&store, &free_text, &late, &context).await {
        println!("\nrefused ({}): {refusal}", refusal.code());
    }

    let state = load(&store, trajectory).await?.trajectory;
    println!(
        "\nsignal on {}, closed: {:?}",
        date("2026-01-05"),
        state.closure().map(|c| c.reason)
    );
    println!(
        "highest level {:?}, escalations {}, step-downs {}",
        state.highest_level(),
        state.escalation_count(),
        state.step_down_count()
    );
    println!("\n{}", store.verify()?);
    Ok(())
}
