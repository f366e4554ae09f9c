// Command daprd is the Dapr 1.14 sidecar built with the components this
// project uses and no others: the upstream build registers every stable
// component (its `allcomponents` tag pulls in a dependency that refuses
// current Go toolchains), and each sidecar carried them all in memory.
// A resource of a type not registered here fails to load, naming it: add
// its registration below.
package main

import (
	"github.com/dapr/components-contrib/bindings/cron"
	"github.com/dapr/components-contrib/bindings/http"
	"github.com/dapr/components-contrib/nameresolution/mdns"
	"github.com/dapr/components-contrib/pubsub/jetstream"
	"github.com/dapr/components-contrib/pubsub/kafka"
	"github.com/dapr/components-contrib/secretstores/local/env"
	"github.com/dapr/components-contrib/secretstores/local/file"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"
	stateredis "github.com/dapr/components-contrib/state/redis"
	"github.com/dapr/dapr/pkg/components"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
	wfbeLoader "github.com/dapr/dapr/pkg/components/wfbackend"
	"github.com/dapr/dapr/pkg/runtime/wfengine/backends/actors"
)

func main() {
	// Registered as upstream's cmd/daprd/components does, name for name;
	// no broker acknowledges a message its subscription stopped for (see
	// redeliverAfterUnsubscribe).
	pubsubLoader.DefaultRegistry.RegisterComponent(newRedisStreams, "redis")
	// RabbitMQ with a publisher that fails what the broker did not confirm
	// and subscriptions of their own (see rabbitMQ).
	pubsubLoader.DefaultRegistry.RegisterComponent(redeliverAfterUnsubscribe(newRabbitMQ), "rabbitmq")
	pubsubLoader.DefaultRegistry.RegisterComponent(redeliverAfterUnsubscribe(jetstream.NewJetStream), "jetstream")
	pubsubLoader.DefaultRegistry.RegisterComponent(redeliverAfterUnsubscribe(kafka.NewKafka), "kafka")
	stateLoader.DefaultRegistry.RegisterComponent(stateredis.NewRedisStateStore, "redis")
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgresql", components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	})
	secretstoresLoader.DefaultRegistry.RegisterComponent(file.NewLocalSecretStore, "local.file")
	secretstoresLoader.DefaultRegistry.RegisterComponent(env.NewEnvSecretStore, "local.env")
	bindingsLoader.DefaultRegistry.RegisterInputBinding(cron.NewCron, "cron")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(http.NewHTTP, "http")
	// SMTP with a Message-ID per request and errors that say whether the
	// server may have kept the mail (see onceSMTP).
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(newOnceSMTP, "smtp")
	// The stock SQLite resolver with cached lookups (see cachedResolver),
	// under its own name: a Configuration written for stock daprd works.
	nrLoader.DefaultRegistry.RegisterComponent(newCachedResolver, "sqlite")
	// Daprd's default when a Configuration names no resolver.
	nrLoader.DefaultRegistry.RegisterComponent(mdns.NewResolver, "mdns")
	wfbeLoader.DefaultRegistry.RegisterComponent(actors.NewActorBackend, "actor", "actors")
	runDaprd()
}
