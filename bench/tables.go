package bench

// The vocabulary of generated events: the event mix and the names, places,
// user agents and networks they draw on.

// Who performs an event of a kind.
const (
	byUser = iota
	byAdmin
	bySystem
)

// kind is an event type with what the generator needs to make one.
type kind struct {
	eventType, legacy, message, uri string
	actor                           int
	credential                      string // "" writes null
	weight                          int
	failures                        [][2]string // result and reason; see scene
}

type principal struct{ id, login, name string }

type place struct{ city, state, country, postal, lat, lon string }

type agent struct{ raw, os, browser, device string }

type isp struct {
	asn               int
	org, name, domain string
}

// kinds is the event mix, weighted roughly as in a workforce org's hook:
// sign-ins and SSO dominate, administration is rare.
var kinds = []kind{
	{"user.session.start", "core.user_auth.login_success", "User login to Okta",
		"/idp/idx/identify", byUser, "PASSWORD", 18,
		[][2]string{{"FAILURE", "INVALID_CREDENTIALS"}, {"FAILURE", "VERIFICATION_ERROR"}}},
	{"user.authentication.sso", "app.auth.sso", "User single sign on to app",
		"/app/salesforce/exk1fcia6d6EMsf331d8/sso/saml", byUser, "", 18, nil},
	{"policy.evaluate_sign_on", "", "Evaluation of sign-on policy",
		"/oauth2/v1/authorize", byUser, "", 14,
		[][2]string{{"CHALLENGE", "Sign-on policy evaluation resulted in ENROLL"},
			{"DENY", "Sign-on policy evaluation resulted in DENY"}}},
	{"user.authentication.auth_via_mfa", "core.user.factor.attempt_success",
		"Authentication of user via MFA", "/idp/idx/challenge/answer", byUser, "OTP", 12,
		[][2]string{{"FAILURE", "INVALID_CREDENTIALS"}}},
	{"app.oauth2.as.token.grant.access_token", "", "OAuth2 access token is granted",
		"/oauth2/default/v1/token", byUser, "", 8, nil},
	{"user.session.end", "core.user_auth.logout_success", "User logout from Okta",
		"/login/signout", byUser, "", 6, nil},
	{"group.user_membership.add", "core.user_group_member.user_add",
		"Add user to group membership", "/api/v1/groups/members", byAdmin, "", 6, nil},
	{"application.user_membership.add", "app.generic.provision.assign_user_to_app",
		"Add user to application membership", "", bySystem, "", 5, nil},
	{"user.lifecycle.create", "core.user.config.user_creation.success", "Create Okta user",
		"/api/v1/users", byAdmin, "", 3, nil},
	{"user.account.update_password", "core.user.config.password_update.success",
		"User update password for Okta", "/idp/idx/challenge/answer", byUser, "PASSWORD", 3,
		[][2]string{{"FAILURE", "Password requirements were not met"}}},
	{"user.mfa.factor.activate", "core.user.factor.activate", "Activate factor or authenticator",
		"/idp/idx/credential/enroll", byUser, "", 2, nil},
	{"user.account.lock", "core.user_auth.account_locked", "Max sign in attempts exceeded",
		"/idp/idx/identify", byUser, "PASSWORD", 2, [][2]string{{"FAILURE", "LOCKED_OUT"}}},
	{"policy.lifecycle.update", "policy.updated", "Update policy",
		"/api/v1/policies", byAdmin, "", 2, nil},
	{"system.api_token.create", "api.token.create", "Create API token",
		"/api/internal/tokens", byAdmin, "", 1, nil},
}

var totalWeight = func() int {
	n := 0
	for _, k := range kinds {
		n += k.weight
	}
	return n
}()

// people are display names and logins, many of them non-ASCII as in a
// multinational org; quotes and apostrophes test the escaping.
var people = []struct{ name, login string }{
	{"Zoë Müller 山田", "zoë.müller"}, {"José Álvarez", "jose.alvarez"},
	{"Søren Østergaard", "soren.ostergaard"}, {"Łukasz Wójcik", "lukasz.wojcik"},
	{"Αλέξης Παπαδόπουλος", "alexis.papadopoulos"}, {"Андрей Смирнов", "andrey.smirnov"},
	{"Nguyễn Thị Lan", "lan.nguyen"}, {"김민준", "minjun.kim"}, {"山田 太郎", "taro.yamada"},
	{"Björk Guðmundsdóttir", "bjork.g"}, {"François Lefèvre", "francois.lefevre"},
	{"Ayşe Yılmaz", "ayse.yilmaz"}, {"محمد العلي", "mohammed.alali"},
	{"Priya Sharma", "priya.sharma"}, {"Jordan Example", "jordan"}, {"Riley Example", "riley"},
	{"Morgan Example", "morgan"}, {"Taylor Example", "taylor"}, {"Avery Example", "avery"},
	{"Chloé Dubois", "chloe.dubois"}, {"Mateus Gonçalves", "mateus.goncalves"},
	{"Quinn O'Brien", "quinn.obrien"}, {"Harper \"Hal\" Lee", "harper.lee"},
	{"Rowan Example", "rowan"},
}

var domains = []string{"example.com", "example.org", "example.net"}

var appNames = [][2]string{
	{"salesforce", "Salesforce.com"}, {"slack", "Slack"}, {"github", "GitHub Enterprise Cloud"},
	{"amazon_aws", "AWS IAM Identity Center"}, {"zoomus", "Zoom"}, {"atlassian", "Atlassian Cloud"},
	{"workday", "Workday"}, {"google", "Google Workspace"}, {"intranet", "Intranet – Wiki"},
	{"saasure", "Okta Admin Console"},
}

var groupNames = []string{
	"Everyone", "Engineering", "Finance & Accounting", "Ventes – Europe", "開発チーム",
	"Contractors", "AWS Admins", "Support (Tier 2)",
}

var policyNames = []string{
	"Default Policy", "MFA for contractors", "Passwordless – staff", "Any two factors",
}

var policyProps = []string{
	"password.complexity.minUpperCase", "password.complexity.minLength",
	"password.complexity.minSymbol", "password.lockout.maxAttempts",
	"password.age.historyCount", "recovery.credentials.recoveryToken.tokenLifetimeMinutes",
	"password.age.maxAgeDays", "password.age.expireWarnDays",
	"password.lockout.autoUnlockMinutes",
	"recovery.credentials.securityAnswer.complexity.minLength",
	"password.complexity.minNumber", "password.age.minAgeMinutes",
	"password.complexity.minLowerCase",
}

// places are the cities addresses resolve to; coordinates keep the decimal
// spellings Okta uses.
var places = []place{
	{"Zürich", "Zürich", "Switzerland", "8001", "47.3769", "8.5417"},
	{"São Paulo", "São Paulo", "Brazil", "01000-000", "-23.5475", "-46.6361"},
	{"Kraków", "Lesser Poland", "Poland", "30-001", "50.0614", "19.9366"},
	{"München", "Bavaria", "Germany", "80331", "48.1374", "11.5755"},
	{"Tokyo", "Tokyo", "Japan", "100-0001", "35.6895", "139.6917"},
	{"Montréal", "Quebec", "Canada", "H2X", "45.5088", "-73.5878"},
	{"Reykjavík", "Capital Region", "Iceland", "101", "64.1355", "-21.8954"},
	{"Malmö", "Skåne County", "Sweden", "211 19", "55.6059", "13.0007"},
	{"Ashburn", "Virginia", "United States", "20149", "39.0469", "-77.4903"},
	{"Dublin", "California", "United States", "94568", "37.7201", "-121.919"},
	{"Bengaluru", "Karnataka", "India", "560001", "12.9719", "77.5937"},
	{"İstanbul", "İstanbul", "Turkey", "34000", "41.0138", "28.9497"},
	{"Ho Chi Minh City", "Ho Chi Minh", "Vietnam", "", "10.8231", "106.6297"},
	{"Seoul", "Seoul", "South Korea", "04524", "37.5665", "126.978"},
	{"Córdoba", "Andalusia", "Spain", "14001", "37.8916", "-4.7728"},
	{"Sydney", "New South Wales", "Australia", "2000", "-33.8688", "151.2093"},
	{"Accra", "Greater Accra", "Ghana", "", "5.556", "-0.1969"},
}

var agents = []agent{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
		"Chrome/131.0.0.0 Safari/537.36", "Windows 10", "CHROME", "Computer"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
		"Version/17.6 Safari/605.1.15", "Mac OS X", "SAFARI", "Computer"},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Linux", "FIREFOX", "Computer"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 " +
		"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "iOS", "MOBILE_SAFARI",
		"Mobile"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
		"Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Windows 10", "EDGE_CHROMIUM", "Computer"},
	{"okta-sdk-java/8.2.5 java/17.0.9 Linux/5.15.0-1051-aws", "Linux", "UNKNOWN", "Unknown"},
	{"Okta Verify/9.27.0 (Android 14; Pixel 8)", "Android", "UNKNOWN", "Mobile"},
}

var isps = []isp{
	{7922, "comcast", "comcast cable communications  llc", "comcast.net"},
	{14618, "amazon technologies inc.", "amazon.com  inc.", "amazonaws.com"},
	{3320, "deutsche telekom ag", "deutsche telekom ag", "t-ipconnect.de"},
	{6830, "liberty global b.v.", "upc schweiz gmbh", "upc.ch"},
	{2516, "kddi corporation", "kddi corporation", "au-net.ne.jp"},
	{13335, "cloudflare  inc.", "cloudflare  inc.", "cloudflare.com"},
	{6167, "verizon", "verizon", "myvzw.com"},
	{8075, "microsoft corporation", "microsoft corporation", "microsoft.com"},
}
