package schema

// Namespace is the Avro namespace of every named type in the schema.
const Namespace = "io.hookbridge.okta"

// The Okta LogEvent model, as documented in the System Log API reference and
// the management OpenAPI specification. Enumerations there are "known values",
// not closed sets, so they are strings here. Members documented as open maps,
// or seen changing type between events, are JSON text.
var (
	geolocation = newRecord("Geolocation", "Latitude and longitude of a place.",
		double("lat", "Latitude."),
		double("lon", "Longitude."),
	)

	geographicalContext = newRecord("GeographicalContext",
		"Where a request came from, resolved from its IP address.",
		str("city", "City name."),
		str("state", "State or region, full name."),
		str("country", "Country, full name."),
		str("postalCode", "Postal code."),
		object("geolocation", "Coordinates.", geolocation),
	)

	actor = newRecord("Actor", "Who performed the action.",
		str("id", "Id of the actor."),
		str("type", "Kind of actor: User, PublicClientApp, SystemPrincipal, ..."),
		str("alternateId", "Alternative id, often a login or email."),
		str("displayName", "Display name."),
		anyJSON("detailEntry", "Open map of details, as JSON text."),
	)

	target = newRecord("Target", "An entity the action was performed on.",
		str("id", "Id of the target."),
		str("type", "Kind of target: User, AppInstance, UserGroup, ..."),
		str("alternateId", "Alternative id, often a login or email."),
		str("displayName", "Display name."),
		anyJSON("detailEntry", "Open map of details, as JSON text."),
		anyJSON("changeDetails", "The from/to change, as JSON text."),
	)

	userAgent = newRecord("UserAgent", "The client's user agent.",
		str("rawUserAgent", "The User-Agent header as sent."),
		str("os", "Operating system."),
		str("browser", "Browser family, e.g. CHROME."),
	)

	client = newRecord("Client", "The client that made the request.",
		str("id", "OAuth client id, or agent id for API token calls."),
		str("ipAddress", "IP address of the client."),
		str("device", "Device type, e.g. Computer."),
		str("zone", "Network zone name; sometimes the text \"null\"."),
		object("userAgent", "User agent.", userAgent),
		object("geographicalContext", "Location of the client.", geographicalContext),
	)

	device = newRecord("Device", "The Okta Verify enrolled device, when there is one.",
		str("id", "Device id."),
		str("name", "Device name."),
		str("os_platform", "Operating system platform."),
		str("os_version", "Operating system version."),
		boolean("managed", "Whether the device is managed."),
		boolean("registered", "Whether the device is registered."),
		anyJSON("device_integrator", "Integrator details, as JSON text."),
		str("disk_encryption_type", "Disk encryption, e.g. FULL."),
		str("screen_lock_type", "Screen lock, e.g. BIOMETRIC."),
		boolean("jailbreak", "Whether the device is jailbroken."),
		boolean("secure_hardware_present", "Whether secure hardware is present."),
	)

	outcome = newRecord("Outcome", "The result of the action.",
		str("result", "SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE, UNKNOWN, ..."),
		str("reason", "Why, e.g. INVALID_CREDENTIALS."),
	)

	transaction = newRecord("Transaction", "The request or job the event belongs to.",
		str("id", "Request or job id."),
		str("type", "WEB or JOB."),
		anyJSON("detail", "Open map of details, as JSON text."),
	)

	debugContext = newRecord("DebugContext", "Debugging data; not a contract.",
		anyJSON("debugData", "Open map whose keys change by event type, as JSON text."),
	)

	issuer = newRecord("Issuer", "Issuer of the credential.",
		str("id", "Issuer id."),
		str("type", "Issuer type."),
	)

	authenticationContext = newRecord("AuthenticationContext", "How the actor authenticated.",
		str("authenticationProvider", "e.g. OKTA_AUTHENTICATION_PROVIDER."),
		str("credentialProvider", "e.g. OKTA_CREDENTIAL_PROVIDER."),
		str("credentialType", "e.g. PASSWORD, OTP."),
		object("issuer", "Issuer of the credential.", issuer),
		str("externalSessionId", "Session correlation id."),
		str("rootSessionId", "Root session id."),
		str("interface", "Interface used."),
		long("authenticationStep", "Authentication step; 0 today."),
	)

	ipServiceCategory = newRecord("IPServiceCategory", "A service the IP address belongs to.",
		str("type", "VPN, Proxy, Tor, ..."),
		str("operator", "Operator of the service."),
		boolean("isAnonymous", "Whether the service anonymises."),
	)

	ipDetails = newRecord("IPDetails", "Details of an IP address.",
		long("asNumber", "Autonomous system number."),
		str("asOrg", "Autonomous system organisation."),
		str("domain", "Domain of the address."),
		str("isp", "Internet service provider."),
		objects("ipServiceCategories", "Services the address belongs to.", ipServiceCategory),
	)

	risk = newRecord("Risk", "Risk assessment.",
		str("level", "LOW, MEDIUM or HIGH."),
		str("previousLevel", "Level before this event."),
		str("detectionName", "Name of the detection."),
		str("issuer", "Who assessed the risk."),
		strs("reasons", "Reasons for the level."),
	)

	botProtection = newRecord("BotProtection", "Bot protection assessment.",
		str("level", "NONE, LOW, MEDIUM or HIGH."),
	)

	securityContext = newRecord("SecurityContext", "Security data about the request.",
		long("asNumber", "Autonomous system number."),
		str("asOrg", "Autonomous system organisation."),
		str("isp", "Internet service provider."),
		str("domain", "Domain of the address."),
		boolean("isProxy", "Whether the request came through a proxy."),
		object("ipDetails", "Details of the IP address.", ipDetails),
		object("risk", "Risk assessment.", risk),
		object("botProtection", "Bot protection assessment.", botProtection),
		anyJSON("userBehaviors", "Behaviour detections, as JSON text."),
	)

	ipChainEntry = newRecord("IPAddress", "One hop of the request's IP chain.",
		str("ip", "IP address."),
		object("geographicalContext", "Location of the address.", geographicalContext),
		str("version", "V4 or V6."),
		str("source", "Source of the address."),
		object("ipDetails", "Details of the address.", ipDetails),
	)

	request = newRecord("Request", "The HTTP request behind the event.",
		objects("ipChain", "Client IP first, then proxies.", ipChainEntry),
	)

	// LogEvent is the Okta System Log event. Its field order is the Avro
	// field order; the delivery metadata follows it (see Meta).
	LogEvent = newRecord("LogEvent", "An Okta System Log event, as delivered by an event hook.",
		str("uuid", "Unique id of the event."),
		timestamp("published", "When the event was published, as sent."),
		str("eventType", "Type of the event, e.g. user.session.start."),
		str("version", "Version of the event's schema."),
		str("severity", "DEBUG, INFO, WARN or ERROR."),
		str("legacyEventType", "Name of the event in the old Events API."),
		str("displayMessage", "Human readable message."),
		object("actor", "Who performed the action.", actor),
		object("client", "The client that made the request.", client),
		object("device", "The enrolled device.", device),
		object("outcome", "The result.", outcome),
		objects("target", "Entities the action was performed on.", target),
		object("transaction", "The request or job.", transaction),
		object("debugContext", "Debugging data.", debugContext),
		object("authenticationContext", "How the actor authenticated.", authenticationContext),
		object("securityContext", "Security data about the request.", securityContext),
		object("request", "The HTTP request.", request),
	)
)
