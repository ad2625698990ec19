#include "enrich/metrics.h"

namespace klaxon::enrich {

const char* drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kInFlight:
      return "in_flight_limit";
    case DropReason::kWaiters:
      return "waiters_limit";
    case DropReason::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

const char* hostile_name(Hostile h) {
  switch (h) {
    case Hostile::kPtrEscaped:
      return "ptr_name_escaped";
    case Hostile::kPtrOverCap:
      return "ptr_over_cap";
    case Hostile::kDnsMalformed:
      return "dns_malformed";
    case Hostile::kRdapOversized:
      return "rdap_oversized";
    case Hostile::kRdapMalformed:
      return "rdap_malformed";
    case Hostile::kWhoisOversized:
      return "whois_oversized";
    case Hostile::kWhoisNoClose:
      return "whois_no_close";
    case Hostile::kFieldTruncated:
      return "field_truncated";
    case Hostile::kReferralRefused:
      return "referral_refused";
  }
  return "unknown";
}

namespace {
// DNS on a LAN answers in well under a millisecond; RDAP over the Internet takes seconds.
prometheus::Histogram::BucketBoundaries buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}
}  // namespace

EnrichMetrics::EnrichMetrics(prometheus::Registry& registry) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  auto& lookups_f = BuildCounter()
                        .Name("klaxon_enrich_lookups_total")
                        .Help("Enrichment requests, by kind and the status of their first answer")
                        .Register(registry);
  auto& late_f = BuildCounter()
                     .Name("klaxon_enrich_late_answers_total")
                     .Help("Answers delivered after the request's deadline had passed")
                     .Register(registry);
  auto& hits_f = BuildCounter()
                     .Name("klaxon_enrich_cache_hits_total")
                     .Help("Requests answered from the cache")
                     .Register(registry);
  auto& misses_f = BuildCounter()
                       .Name("klaxon_enrich_cache_misses_total")
                       .Help("Requests the cache could not answer")
                       .Register(registry);
  auto& coalesced_f = BuildCounter()
                          .Name("klaxon_enrich_coalesced_total")
                          .Help("Requests that joined a query already in flight for the same key")
                          .Register(registry);
  auto& queries_f = BuildCounter()
                        .Name("klaxon_enrich_queries_total")
                        .Help("Queries sent: DNS questions, RDAP requests, WHOIS connections")
                        .Register(registry);
  auto& lookup_s = BuildHistogram()
                       .Name("klaxon_enrich_lookup_duration_seconds")
                       .Help("From request to the first answer (cache hits included)")
                       .Register(registry);
  auto& query_s = BuildHistogram()
                      .Name("klaxon_enrich_query_duration_seconds")
                      .Help("From the first query on the network to its final answer")
                      .Register(registry);
  for (int k = 0; k < kLookupKindCount; ++k) {
    const std::string kind = lookup_kind_name(static_cast<LookupKind>(k));
    for (int s = 0; s < kLookupStatusCount; ++s) {
      lookups[static_cast<size_t>(k)][static_cast<size_t>(s)] = &lookups_f.Add(
          {{"kind", kind}, {"result", lookup_status_name(static_cast<LookupStatus>(s))}});
    }
    const auto i = static_cast<size_t>(k);
    late[i] = &late_f.Add({{"kind", kind}});
    cache_hits[i] = &hits_f.Add({{"kind", kind}});
    cache_misses[i] = &misses_f.Add({{"kind", kind}});
    coalesced[i] = &coalesced_f.Add({{"kind", kind}});
    queries[i] = &queries_f.Add({{"kind", kind}});
    lookup_seconds[i] = &lookup_s.Add({{"kind", kind}}, buckets());
    query_seconds[i] = &query_s.Add({{"kind", kind}}, buckets());
  }
  auto& dropped_f = BuildCounter()
                        .Name("klaxon_enrich_dropped_total")
                        .Help("Requests not attempted, by reason")
                        .Register(registry);
  for (int r = 0; r < kDropReasonCount; ++r) {
    dropped[static_cast<size_t>(r)] =
        &dropped_f.Add({{"reason", drop_reason_name(static_cast<DropReason>(r))}});
  }
  auto& hostile_f = BuildCounter()
                        .Name("klaxon_enrich_hostile_answers_total")
                        .Help("Answers escaped, capped or dropped because of what they held")
                        .Register(registry);
  for (int h = 0; h < kHostileCount; ++h) {
    hostile[static_cast<size_t>(h)] =
        &hostile_f.Add({{"kind", hostile_name(static_cast<Hostile>(h))}});
  }
  auto& evictions_f = BuildCounter()
                          .Name("klaxon_enrich_cache_evictions_total")
                          .Help("Cache entries removed, by reason")
                          .Register(registry);
  cache_evicted = &evictions_f.Add({{"reason", "capacity"}});
  cache_expired = &evictions_f.Add({{"reason", "expired"}});
  cache_entries = &BuildGauge()
                       .Name("klaxon_enrich_cache_entries")
                       .Help("Answers in the cache")
                       .Register(registry)
                       .Add({});
  in_flight = &BuildGauge()
                   .Name("klaxon_enrich_in_flight")
                   .Help("Distinct queries in flight")
                   .Register(registry)
                   .Add({});
  queue_depth = &BuildGauge()
                     .Name("klaxon_enrich_queue_depth")
                     .Help("Requests waiting for the enrichment thread")
                     .Register(registry)
                     .Add({});
}

}  // namespace klaxon::enrich
