/*
 * A Kafka-protocol broker for tests: librdkafka's mock cluster on loopback.
 *
 * usage: kafka-mock [--brokers N] [topic:partitions ...]
 *
 * Prints the bootstrap servers (host:port,...) as the first line on stdout, then serves until stdin
 * closes, SIGTERM or SIGINT. While running, each stdin line "topic <name> <partitions>" creates a
 * topic and answers "ok <name>" (or "error <name> <reason>") on stdout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *name, int partitions, int replication) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, partitions, replication);
  if (err) {
    printf("error %s %s\n", name, rd_kafka_err2str(err));
    fflush(stdout);
    return -1;
  }
  return 0;
}

/* Parses "name:partitions"; partitions default to 1. */
static int create_topic_arg(rd_kafka_mock_cluster_t *mc, char *arg, int replication) {
  int partitions = 1;
  char *colon = strrchr(arg, ':');
  if (colon) {
    *colon = '\0';
    partitions = atoi(colon + 1);
  }
  if (!*arg || partitions < 1) {
    fprintf(stderr, "kafka-mock: bad topic argument (want name:partitions)\n");
    return -1;
  }
  return create_topic(mc, arg, partitions, replication);
}

int main(int argc, char **argv) {
  int brokers = 1;
  int first_topic = 1;
  if (argc > 2 && strcmp(argv[1], "--brokers") == 0) {
    brokers = atoi(argv[2]);
    first_topic = 3;
    if (brokers < 1) {
      fprintf(stderr, "kafka-mock: --brokers must be >= 1\n");
      return 2;
    }
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The mock cluster needs a client handle to live in; it never produces. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 2;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 2;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "kafka-mock: cannot create mock cluster\n");
    rd_kafka_destroy(rk);
    return 2;
  }
  int replication = brokers < 3 ? brokers : 3;
  for (int i = first_topic; i < argc; i++) {
    if (create_topic_arg(mc, argv[i], replication) != 0) {
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 2;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[1024];
  size_t used = 0;
  while (!stop_requested) {
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    int n = poll(&pfd, 1, 200);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) continue;
    ssize_t got = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
    if (got <= 0) break; /* stdin closed: the parent is gone */
    used += (size_t)got;
    line[used] = '\0';
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = '\0';
      char name[512];
      int partitions = 0;
      if (sscanf(line, "topic %511s %d", name, &partitions) == 2 && partitions > 0) {
        if (create_topic(mc, name, partitions, replication) == 0) {
          printf("ok %s\n", name);
          fflush(stdout);
        }
      } else if (line[0] != '\0') {
        printf("error - unknown command\n");
        fflush(stdout);
      }
      size_t rest = used - (size_t)(nl + 1 - line);
      memmove(line, nl + 1, rest);
      used = rest;
      line[used] = '\0';
    }
    if (used == sizeof line - 1) used = 0; /* an over-long line is dropped */
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
