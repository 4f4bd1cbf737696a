//! The node's ear for other nodes' appends: `LISTEN` on the schema's channel and publish the
//! position each notification carries (sent in the committing transaction, so delivered only
//! once that position is committed); every half second without one, read the head row.
//!
//! The notification is only the wake-up; the log is the truth. So a notification lost with a
//! dropped connection delays other nodes' events here by at most [`POLL`], and never loses one:
//! subscriptions read the log itself, by position, up to the head published.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use crate::postgres::Published;

/// How often the head is read without a notification.
const POLL: Duration = Duration::from_millis(500);
/// How long to wait before connecting again after the connection failed.
const RECONNECT: Duration = Duration::from_secs(1);

pub(crate) async fn run(published: Arc<Published>) {
    while !published.closing.load(Ordering::Relaxed) {
        if let Err(e) = listen(&published).await {
            tracing::debug!(error = %e, "the PostgreSQL listener lost its connection; reconnecting");
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

/// One connection's life: listen, publish what notifications say, read the head when they
/// are silent.
async fn listen(published: &Published) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = published.config.connect(tokio_postgres::NoTls).await?;
    let (wake, mut woken) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    let _ = wake.send(notification.payload().parse::<u64>().ok());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "the PostgreSQL listener's connection ended");
                    break;
                }
            }
        }
    });
    let result = async {
        client
            .batch_execute(&format!("LISTEN {}", published.channel()))
            .await?;
        let mut read_head = true;
        while !published.closing.load(Ordering::Relaxed) {
            if read_head {
                let row = client.query_one("SELECT position FROM head", &[]).await?;
                published.publish(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0));
            }
            match tokio::time::timeout(POLL, woken.recv()).await {
                Err(_) => read_head = true,
                Ok(None) => break,
                // A payload that is not a position (never sent by Jeugdpad): read the head.
                Ok(Some(position)) => {
                    let mut latest = position;
                    while let Ok(next) = woken.try_recv() {
                        latest = latest.max(next);
                    }
                    read_head = latest.is_none();
                    if let Some(position) = latest {
                        published.publish(position);
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    driver.abort();
    result
}
