//! The source document's demo, run on real nodes: three cache servers, the
//! group `scores` over Tom, Jack and Sam, and an API front end.

use crate::common;

use common::{get, Cluster, ScoresDb};
use geecache_bench::geecache::GroupOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_api_gets_of_tom_search_the_store_once_on_the_owner() {
    // As in run.sh, the third node serves the API.
    let cluster = Cluster::<ScoresDb>::start(3, 2, "scores", GroupOptions::default()).await;
    let api = cluster.nodes[2].addr();
    let (a, b, c) = tokio::join!(
        get(api, "/api?key=Tom"),
        get(api, "/api?key=Tom"),
        get(api, "/api?key=Tom")
    );
    for reply in [&a, &b, &c] {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), "630");
        assert_eq!(
            reply.header("content-type"),
            Some("application/octet-stream")
        );
    }
    // Sequential gets after the concurrent ones still search nothing new.
    assert_eq!(get(api, "/api?key=Tom").await.text(), "630");

    let owner = cluster.owner_of("Tom");
    for (index, store) in cluster.stores.iter().enumerate() {
        let expected: Vec<String> = if index == owner {
            vec!["Tom".into()]
        } else {
            vec![]
        };
        assert_eq!(
            store.searches(),
            expected,
            "node {index}'s store (owner is {owner})"
        );
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn every_score_is_served_and_an_unknown_key_gets_the_stores_error() {
    let cluster = Cluster::<ScoresDb>::start(3, 0, "scores", GroupOptions::default()).await;
    let api = cluster.nodes[0].addr();
    for (name, score) in [("Tom", "630"), ("Jack", "589"), ("Sam", "567")] {
        let reply = get(api, &format!("/api?key={name}")).await;
        assert_eq!(
            (reply.status, reply.text()),
            (200, score.to_string()),
            "{name}"
        );
    }
    let reply = get(api, "/api?key=Kate").await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.text().trim_end(), "Kate not exist");
    // The store was searched for Kate once, on her owner only.
    let kate_searches: usize = cluster
        .stores
        .iter()
        .map(|store| store.searches().iter().filter(|key| *key == "Kate").count())
        .sum();
    assert_eq!(kate_searches, 1);
    assert_eq!(
        cluster.stores[cluster.owner_of("Kate")]
            .searches()
            .last()
            .map(String::as_str),
        Some("Kate")
    );
    let reply = get(api, "/api").await;
    assert_eq!(
        (reply.status, reply.text().trim_end()),
        (400, "key is required")
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn nodes_without_the_api_do_not_answer_it() {
    let cluster = Cluster::<ScoresDb>::start(2, 0, "scores", GroupOptions::default()).await;
    let reply = get(cluster.nodes[1].addr(), "/api?key=Tom").await;
    assert_eq!(reply.status, 404);
    cluster.shutdown().await;
}
