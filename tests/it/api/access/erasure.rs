//! Erasure (AVG art. 17) by crypto-shredding: the youth's free text becomes unreadable for good,
//! every other youth's stays, and every figure stays byte for byte the same.

use serde_json::{json, Value};

use super::super::{contains_bytes, files_under, Client, Server};
use super::verify_after_stop;

const ANNA: &str = "sk-erase-anna";
const BRAM: &str = "sk-erase-bram";
/// What the consultant typed (synthetic, but the kind of thing that names people).
const ANNA_CORRECTION: &str =
    "moeder belde: datum stond verkeerd in de brief van school (synthetisch)";
const ANNA_RETRACTION: &str = "aanvraag hoorde bij het dossier van haar broertje (synthetisch)";
const BRAM_CORRECTION: &str = "vader gaf de juiste datum door aan het wijkteam (synthetisch)";
const ERASED: &str = "[gewist]";

/// Both figures the analyst reads, as the exact bytes the server sent.
async fn figures(analyst: &Client<'_>) -> String {
    let answer = analyst
        .send(
            "{ waitingTimes(groupBy: TEAM) { asOf measures { measure normDays
                   overall { closed open mean median p90 max withinNorm openBreaches }
                   groups { key stats { closed open median max } } } }
               normalisation(cohort: { signalledBetween: { from: \"2026-01-01\", to: \"2026-06-30\" } },
                             groupBy: TEAM) {
                   overall { trajectories resolvedLight escalated outOfHome closed medianPathwayDays }
                   groups { key outcomes { trajectories } } } }",
            json!({}),
        )
        .await;
    assert!(
        answer.status == 200 && answer.body.get("errors").is_none(),
        "{}",
        answer.text
    );
    answer.text
}

/// The reasons on a trajectory's timeline, in order (steps have none).
async fn reasons(reader: &Client<'_>, trajectory: &str) -> Vec<String> {
    let data = reader
        .gql(
            "query($id: ID!) { trajectory(id: $id) { timeline { type reason } } }",
            json!({ "id": trajectory }),
        )
        .await;
    data["trajectory"]["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|entry| entry["reason"].as_str().map(str::to_owned))
        .collect()
}

/// The raw `events` answer of a trajectory.
async fn raw_events(reader: &Client<'_>, trajectory: &str) -> (String, Vec<Value>) {
    let answer = reader
        .send(
            "query($id: ID!) { events(trajectoryId: $id) { type payload } }",
            json!({ "id": trajectory }),
        )
        .await;
    assert!(answer.body.get("errors").is_none(), "{}", answer.text);
    let events = answer.body["data"]["events"]
        .as_array()
        .cloned()
        .expect("events");
    (answer.text, events)
}

#[tokio::test]
async fn erasure_destroys_the_free_text_of_one_youth_and_keeps_every_figure() {
    let server = Server::start().await;
    let anna = server.open("2026-02-02", "noord", ANNA, "SCHOOL").await;
    let assessed = anna.assess("2026-03-20").await;
    anna.redate_because("2026-04-01", &assessed, "2026-03-10", ANNA_CORRECTION)
        .await;
    let requested = anna.request("2026-03-15", "PARENTING_SUPPORT").await;
    anna.retract_because("2026-04-02", &requested, ANNA_RETRACTION)
        .await;
    let bram = server.open("2026-02-03", "noord", BRAM, "JGZ").await;
    let assessed = bram.assess("2026-03-01").await;
    bram.redate_because("2026-04-01", &assessed, "2026-02-25", BRAM_CORRECTION)
        .await;
    // Another team's youth in the figures too.
    let zuid = server
        .open("2026-02-10", "zuid", "sk-erase-cas", "JGZ")
        .await;
    zuid.assess("2026-02-20").await;
    let (anna, bram) = (anna.id, bram.id);

    let analyst = server.analyst();
    let consultant = server.consultant("noord");
    let before = figures(&analyst).await;
    // Reads of Anna's file: counted for the access log below.
    let mut anna_reads = 0;
    assert_eq!(
        reasons(&consultant, &anna).await,
        [ANNA_CORRECTION, ANNA_RETRACTION]
    );
    anna_reads += 1;
    assert_eq!(reasons(&consultant, &bram).await, [BRAM_CORRECTION]);

    let erased = server
        .admin()
        .gql(
            "mutation($key: String!) { eraseSubject(subjectKey: $key) { subjectKey keyDestroyed } }",
            json!({ "key": ANNA }),
        )
        .await;
    assert_eq!(
        erased["eraseSubject"],
        json!({ "subjectKey": ANNA, "keyDestroyed": true })
    );

    // Anna's reasons are gone; the raw events still hold the sealed text, which nobody can
    // open any more; the typed words appear nowhere in any answer.
    assert_eq!(reasons(&consultant, &anna).await, [ERASED, ERASED]);
    anna_reads += 1;
    let (text, events) = raw_events(&server.lead("noord"), &anna).await;
    anna_reads += 1;
    let sealed: Vec<&str> = events
        .iter()
        .filter_map(|event| event["payload"]["reason"].as_str())
        .collect();
    assert_eq!(sealed.len(), 2, "{text}");
    for reason in sealed {
        assert!(reason.starts_with("sealed:v1:"), "{reason}");
    }
    for typed in [ANNA_CORRECTION, ANNA_RETRACTION, "moeder belde", "broertje"] {
        assert!(!text.contains(typed), "{typed} in {text}");
    }
    // Bram is untouched; every figure is the same, byte for byte.
    assert_eq!(reasons(&consultant, &bram).await, [BRAM_CORRECTION]);
    assert_eq!(figures(&analyst).await, before);

    // Erasing again finds no key to destroy (and is logged like the first).
    let again = server
        .admin()
        .gql(
            "mutation($key: String!) { eraseSubject(subjectKey: $key) { keyDestroyed } }",
            json!({ "key": ANNA }),
        )
        .await;
    assert_eq!(again["eraseSubject"]["keyDestroyed"], json!(false));

    // After a restart (read models and registry rebuilt from the log) nothing comes back.
    let server = server.restart().await;
    let consultant = server.consultant("noord");
    assert_eq!(reasons(&consultant, &anna).await, [ERASED, ERASED]);
    anna_reads += 1;
    assert_eq!(reasons(&consultant, &bram).await, [BRAM_CORRECTION]);
    assert_eq!(figures(&server.analyst()).await, before);

    // The access log: one granted `read` per read of Anna's file, by whom and from where; the
    // erasures by the admin.
    let log = server
        .admin()
        .gql(
            "query($key: String!) { accessLog(subjectKey: $key, first: 10000) { entries {
                 action outcome user role team subjectKey trajectoryId clientAddress } } }",
            json!({ "key": ANNA }),
        )
        .await;
    let entries = log["accessLog"]["entries"].as_array().expect("entries");
    let reads: Vec<&Value> = entries.iter().filter(|e| e["action"] == "read").collect();
    assert_eq!(reads.len(), anna_reads, "{entries:#?}");
    for read in &reads {
        assert_eq!(read["outcome"], "granted", "{read}");
        assert_eq!(read["team"], "noord", "{read}");
        assert_eq!(read["trajectoryId"], anna.as_str(), "{read}");
        assert_eq!(read["clientAddress"], "127.0.0.1", "{read}");
    }
    let erasures: Vec<&Value> = entries.iter().filter(|e| e["action"] == "erase").collect();
    assert_eq!(erasures.len(), 2, "{entries:#?}");
    for erasure in erasures {
        assert_eq!(erasure["user"], "admin", "{erasure}");
        assert_eq!(erasure["role"], "admin", "{erasure}");
        assert_eq!(erasure["team"], Value::Null, "{erasure}");
    }
    // The steps recorded for her are there as well (signal, assessment, correction, request,
    // retraction), by her team's consultant.
    let records = entries
        .iter()
        .filter(|e| e["action"] == "record" && e["user"] == "consultant-noord")
        .count();
    assert_eq!(records, 5, "{entries:#?}");

    // The store is intact, and free text is sealed at rest: not one file of the data
    // directory holds what was typed, for Anna or for Bram.
    let stopped = verify_after_stop(server).await;
    for file in files_under(&stopped.data_dir()) {
        let bytes = std::fs::read(&file).expect("a file of the store reads");
        for typed in [ANNA_CORRECTION, ANNA_RETRACTION, BRAM_CORRECTION] {
            assert!(
                !contains_bytes(&bytes, typed.as_bytes()),
                "{typed:?} is stored in plain text in {}",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn erased_text_stays_erased_when_new_text_is_recorded_later() {
    let server = Server::start().await;
    let anna = server.open("2026-02-02", "noord", ANNA, "SCHOOL").await;
    let assessed = anna.assess("2026-03-20").await;
    anna.redate_because("2026-04-01", &assessed, "2026-03-10", ANNA_CORRECTION)
        .await;
    server
        .admin()
        .gql(
            "mutation($key: String!) { eraseSubject(subjectKey: $key) { keyDestroyed } }",
            json!({ "key": ANNA }),
        )
        .await;
    let consultant = server.consultant("noord");
    assert_eq!(reasons(&consultant, &anna.id).await, [ERASED]);

    // Later a consultant retracts a step of the same youth, with a reason.
    let requested = anna.request("2026-03-15", "PARENTING_SUPPORT").await;
    anna.retract_because("2026-04-02", &requested, "aanvraag dubbel ingevoerd")
        .await;

    // What was erased must still read as erased, not as damaged text.
    let now = reasons(&consultant, &anna.id).await;
    assert_eq!(now.first().map(String::as_str), Some(ERASED), "{now:?}");
}
