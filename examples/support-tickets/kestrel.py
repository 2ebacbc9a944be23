# ruff: noqa: E501  (phrase and data tables read better on long lines)
"""Kestrel Home, the fictional company behind the demo task: its catalogue, its support policy
and the phrases its customers write. Used by generate.py (stdlib only).

The catalogue and the policy decide fields a prompt-only model cannot know: which product a
nickname means, each product's support tier, and the urgency the policy gives an issue on a tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COMPANY = "Kestrel Home"


@dataclass(frozen=True)
class Product:
    name: str
    code: str
    nicknames: tuple[str, ...]
    tier: str  # Standard | Plus | Enterprise
    kind: str  # router, switch, camera, hub, thermostat, bulbs, sensor, lock, cloud
    blurb: str

    @property
    def aliases(self) -> tuple[str, ...]:
        return (self.name, self.code, *self.nicknames)


PRODUCTS = (
    Product("Skylark Mesh Router", "SK-300", ("skylark", "the mesh", "sk300"), "Standard", "router",
            "Two-node home mesh Wi-Fi 6 router."),
    Product("Skylark Pro Mesh", "SK-500P", ("skylark pro", "the pro mesh", "sk500"), "Plus", "router",
            "Three-node tri-band mesh for large homes, with Guard Plus included."),
    Product("Wren Range Extender", "WR-100", ("wren", "the extender", "the booster"), "Standard", "router",
            "Plug-in Wi-Fi range extender."),
    Product("Osprey Business Gateway", "OG-900", ("osprey", "the gateway", "og900"), "Enterprise", "router",
            "Small-office router, firewall and VPN gateway with a fan-cooled chassis."),
    Product("Falcon Core Switch", "FC-48", ("falcon", "the switch", "fc48"), "Enterprise", "switch",
            "48-port managed PoE switch for offices."),
    Product("Kite Video Doorbell", "KD-2", ("kite", "the doorbell", "kd2"), "Standard", "camera",
            "Battery video doorbell with two-way talk."),
    Product("Heron Outdoor Camera", "HC-360", ("heron", "the outdoor cam", "hc360"), "Plus", "camera",
            "Weatherproof pan-and-tilt camera with cloud recording."),
    Product("Roost Smart Hub", "RH-10", ("roost", "the hub", "rh10"), "Plus", "hub",
            "Zigbee and Thread hub that runs the home's automations."),
    Product("Ember Thermostat", "ET-7", ("ember", "the thermostat", "et7"), "Standard", "thermostat",
            "Smart thermostat with schedules and geofencing."),
    Product("Glow Bulb Kit", "GB-4", ("glow bulbs", "the bulbs", "gb4"), "Standard", "bulbs",
            "Four colour smart bulbs."),
    Product("Plover Leak Sensor", "PL-1", ("plover", "the leak sensor", "pl1"), "Plus", "sensor",
            "Battery water-leak sensor with a siren."),
    Product("Talon Smart Lock", "TL-5", ("talon", "the lock", "tl5"), "Plus", "lock",
            "Keypad and app-controlled door lock."),
    Product("Aerie Fleet Console", "AFC", ("aerie", "the console", "the fleet dashboard"), "Enterprise", "cloud",
            "Cloud console to manage many sites' Kestrel devices."),
)  # fmt: skip
BY_NAME = {p.name: p for p in PRODUCTS}

PHYSICAL = frozenset(p.kind for p in PRODUCTS) - {"cloud"}
ROUTERS = frozenset({"router", "switch"})
SMART = frozenset({"hub", "thermostat", "bulbs", "lock", "sensor"})
CATEGORIES = (
    "outage",
    "hardware",
    "setup",
    "billing",
    "account",
    "security",
    "shipping",
    "feedback",
)
URGENCIES = ("low", "normal", "high", "critical")
CATEGORY_WEIGHTS = {"outage": 20, "hardware": 14, "setup": 15, "billing": 14, "account": 10,
                    "security": 9, "shipping": 10, "feedback": 8}  # fmt: skip


@dataclass(frozen=True)
class Issue:
    """One kind of problem: its category, the summary phrase, which products it concerns, and
    how customers write it: `{p}` is the product as the customer names it, with a determiner
    when it needs one ("the hub", "my SK-300"); `{P}` is the bare name after the template's own
    determiner ("my new {P}"). Phrasings in other languages get bare names only.

    `kinds` lists product kinds (or product codes) it applies to; "none" means it may name no
    product. `urgency` fixes the urgency regardless of tier (billing, account, shipping rules);
    `safety` marks fire/smoke issues, always critical.
    """

    key: str
    category: str
    summary: str
    kinds: frozenset[str]
    en: tuple[str, ...]
    en_none: tuple[str, ...] = ()
    urgency: str | None = None
    safety: bool = False
    details: tuple[str, ...] = ()
    other: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lang -> phrasings
    other_none: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _i(
    key: str,
    category: str,
    summary: str,
    kinds: set[str] | frozenset[str],
    en: list[str],
    **kw: object,
) -> Issue:
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    return Issue(key, category, summary, frozenset(kinds), tuple(en), **kw)  # type: ignore[arg-type]


ISSUES = (
    # outage -------------------------------------------------------------------------------
    _i("no_internet", "outage", "no internet connection", {"router"}, [
        "{p} is up but there's no internet", "no internet through {p} since this morning",
        "{p} shows connected but nothing loads", "lost internet on {p} completely",
        "{p} stopped giving us internet", "every device says no internet when it's on {p}",
    ], details=["The ISP modem works fine when I plug a laptop straight in.",
                "The light on it is solid amber.", "Speed test from the app says 0 Mbps."],
       other={"es": ("mi {p} no tiene internet desde esta mañana", "{p} está conectado pero no carga ninguna página"),
              "de": ("mein {p} hat seit heute Morgen kein Internet", "{p} ist verbunden, aber keine Seite lädt"),
              "fr": ("mon {p} n'a plus internet depuis ce matin", "{p} est connecté mais aucune page ne charge"),
              "pt": ("meu {p} está sem internet desde hoje de manhã", "{p} está conectado mas nenhuma página abre")}),
    _i("wifi_drops", "outage", "Wi-Fi keeps dropping", {"router"}, [
        "wifi keeps cutting out on {p}", "{p} drops the connection every few minutes",
        "{p} disconnects every evening around 8", "{p} wifi drops constantly and video calls freeze",
        "the signal from {p} comes and goes all day",
    ], details=["It happens on every laptop and phone.", "Moving closer to it doesn't help."],
       other={"es": ("el wifi de {p} se corta cada pocos minutos", "la conexión de {p} se cae constantemente"),
              "de": ("das WLAN vom {p} bricht alle paar Minuten ab", "die Verbindung über {p} fällt ständig aus"),
              "fr": ("le wifi du {p} se coupe toutes les cinq minutes", "la connexion du {p} saute sans arrêt"),
              "pt": ("o wifi do {p} cai a cada poucos minutos", "a conexão do {p} fica caindo o tempo todo")}),
    _i("device_offline", "outage", "device offline", {"camera", "hub", "thermostat", "bulbs", "sensor", "lock"}, [
        "the app says {p} is offline", "{p} went offline overnight and won't come back",
        "{p} shows offline even though the wifi is fine", "can't reach {p} from the app anymore, it says offline",
        "{p} has been offline since yesterday",
    ], details=["The router is fine, everything else is online.", "I re-added it to the app, still offline."],
       other={"es": ("la app dice que mi {p} está desconectado", "{p} aparece sin conexión desde ayer"),
              "de": ("die App zeigt {p} als offline an", "{p} ist seit gestern offline"),
              "fr": ("l'application indique que mon {p} est hors ligne", "{p} est hors ligne depuis hier"),
              "pt": ("o aplicativo diz que meu {p} está offline", "{p} está offline desde ontem")}),
    _i("no_video", "outage", "live video not loading", {"camera"}, [
        "live view on {p} just spins forever", "{p} records clips but I can't see live video",
        "black screen when I open {p} feed", "{p} stream won't load in the app",
    ], details=["Recorded clips still play fine.", "Same on my phone and my tablet."]),
    _i("console_down", "outage", "console unreachable", {"cloud"}, [
        "{p} won't load for any of our admins", "we get a 502 error on {p}",
        "{p} is down and we can't manage any of our sites", "nobody on our team can open {p} right now",
    ], details=["Status page says all systems operational, which is wrong.", "We manage 14 sites through it."]),
    _i("network_down", "outage", "network down", {"switch"}, [
        "all ports on {p} went dark", "{p} stopped passing traffic and the whole floor is offline",
        "{p} is dropping every connection in the office", "nothing behind {p} can reach the network",
    ], details=["Power LED is on but no port lights.", "About 40 people can't work."]),
    # hardware -----------------------------------------------------------------------------
    _i("wont_power", "hardware", "will not power on", PHYSICAL, [
        "{p} won't turn on at all", "no lights on {p}, it seems dead",
        "{p} is completely dead even with a different cable", "{p} does not power up anymore",
        "plugged in {p} and nothing happens",
    ], details=["Tried a different socket.", "It's only a few months old."],
       other={"es": ("{p} no enciende", "mi {p} está muerto, no se enciende ninguna luz"),
              "de": ("{p} lässt sich nicht mehr einschalten", "mein {p} ist tot, keine Lampe leuchtet"),
              "fr": ("{p} ne s'allume plus", "mon {p} est mort, aucun voyant"),
              "pt": ("{p} não liga mais", "meu {p} está morto, nenhuma luz acende")}),
    _i("overheating", "hardware", "overheating", PHYSICAL, [
        "{p} gets really hot and smells like burning plastic", "there was smoke coming from {p}",
        "{p} is too hot to touch and the case is melting a bit", "I saw sparks near {p} power plug",
        "{p} is overheating and the casing has turned brown",
    ], safety=True, details=["I've unplugged it for now.", "It's mounted near the kids' room."],
       other={"es": ("{p} se calienta muchísimo y huele a quemado", "salió humo de {p}"),
              "de": ("{p} wird extrem heiß und riecht verbrannt", "aus {p} kam Rauch"),
              "fr": ("{p} chauffe énormément et sent le brûlé", "de la fumée est sortie de {p}"),
              "pt": ("{p} esquenta demais e tem cheiro de queimado", "saiu fumaça do {p}")}),
    _i("battery_drain", "hardware", "battery drains fast", {"KD-2", "sensor", "lock"}, [
        "the battery in {p} lasts two days", "{p} eats batteries, had to change them again",
        "{p} battery went from full to 10% in a day", "battery life on {p} is terrible since last week",
    ], details=["Using the recommended batteries.", "Motion sensitivity is on the lowest setting."]),
    _i("damaged_unit", "hardware", "physical damage", PHYSICAL - {"bulbs"}, [
        "the mounting bracket of {p} snapped", "{p} fell and the casing cracked",
        "a button on {p} is stuck", "the power port on {p} is loose",
    ], details=["It still works but I'm worried.", "Photos attached."]),
    _i("red_light", "hardware", "status light blinking red", {"router", "switch", "hub"}, [
        "{p} is blinking red", "red flashing light on {p}", "{p} light is red and won't go back to white",
        "the status LED on {p} keeps flashing red",
    ], details=["Factory reset didn't change it.", "It was white until yesterday."]),
    _i("fan_noise", "hardware", "fan noise", {"OG-900", "FC-48"}, [
        "the fan in {p} is very loud", "{p} makes a grinding noise", "there's a rattling fan in {p}",
    ], details=["It sits in the comms cupboard next to the meeting room."]),
    # setup --------------------------------------------------------------------------------
    _i("pairing", "setup", "cannot pair with app", PHYSICAL, [
        "can't get {p} to pair with the app", "the app never finds {p} during setup",
        "pairing {p} fails at the last step", "{p} won't show up when I try to add it",
    ], details=["I followed the quick start guide.", "Bluetooth is on."],
       other={"es": ("no consigo vincular {p} con la aplicación", "la app no encuentra mi {p} durante la instalación"),
              "de": ("ich kann {p} nicht mit der App koppeln", "die App findet {p} bei der Einrichtung nicht"),
              "fr": ("impossible d'associer {p} à l'application", "l'appli ne trouve pas mon {p} pendant l'installation"),
              "pt": ("não consigo parear {p} com o aplicativo", "o app não encontra meu {p} na configuração")}),
    _i("install_help", "setup", "installation help", PHYSICAL, [
        "how do I mount {p} on a brick wall?", "need help installing {p}",
        "what's the right way to wire {p}?", "is there a guide for setting up {p}?",
    ], details=["The manual only has pictures.", "I'm not very handy."]),
    _i("firmware_failed", "setup", "firmware update failed", PHYSICAL, [
        "the firmware update on {p} failed halfway", "{p} has been stuck on 'updating firmware' for hours",
        "update error 0x12 on {p}", "{p} keeps saying the firmware update failed",
    ], details=["The app is the latest version.", "I tried three times."],
       other={"es": ("falló la actualización de firmware de {p}", "{p} se quedó atascado actualizando"),
              "de": ("das Firmware-Update für {p} ist fehlgeschlagen", "{p} hängt seit Stunden beim Update"),
              "fr": ("la mise à jour du firmware de {p} a échoué", "{p} est bloqué sur la mise à jour depuis des heures"),
              "pt": ("a atualização de firmware do {p} falhou", "{p} travou atualizando há horas")}),
    _i("voice_assistant", "setup", "voice assistant integration", {"hub", "thermostat", "bulbs", "lock"}, [
        "how do I connect {p} to Alexa?", "Google Home can't find {p}",
        "want to control {p} by voice, how?", "{p} doesn't show up in the Siri shortcuts",
    ]),
    _i("settings_question", "setup", "settings question", PHYSICAL | {"cloud"}, [
        "where is the notifications setting for {p}?", "can {p} be set to a different time zone?",
        "how do I rename {p} in the app?", "is there a way to export the settings of {p}?",
        "how do I turn off the LED on {p}?",
    ]),
    # billing ------------------------------------------------------------------------------
    _i("double_charge", "billing", "charged twice", {"none", "cloud", "router", "camera"}, [
        "I was charged twice for {p}", "two identical charges on my card for {p}",
        "you billed me twice for the same {P} order",
    ], en_none=["I was charged twice this month", "two identical charges on my card from Kestrel",
                "my statement shows a double payment to Kestrel", "you took the subscription fee twice"],
       urgency="high", details=["Both charges show the same date.", "Please fix this quickly."],
       other={"es": ("me cobraron dos veces {p}",), "de": ("{p} wurde mir zweimal berechnet",),
              "fr": ("vous m'avez facturé {p} deux fois",), "pt": ("vocês me cobraram o {p} duas vezes",)},
       other_none={"es": ("me cobraron dos veces este mes", "tengo dos cargos iguales de Kestrel en mi tarjeta"),
                   "de": ("mir wurde diesen Monat doppelt abgebucht", "zwei gleiche Abbuchungen von Kestrel auf meiner Karte"),
                   "fr": ("j'ai été débité deux fois ce mois-ci", "deux prélèvements identiques de Kestrel sur ma carte"),
                   "pt": ("fui cobrado duas vezes este mês", "tem duas cobranças iguais da Kestrel no meu cartão")}),
    _i("refund", "billing", "refund request", {"none"} | PHYSICAL, [
        "I'd like a refund for {p}", "please refund {p}, it's not what I expected",
        "how do I get my money back for {p}?",
    ], en_none=["I'd like a refund for last month's subscription", "can I get my money back for the Guard plan?",
                "please refund the renewal, I didn't mean to renew"],
       urgency="normal",
       other={"es": ("quiero un reembolso de {p}",), "de": ("ich möchte mein Geld für {p} zurück",),
              "fr": ("je voudrais être remboursé pour {p}",), "pt": ("quero reembolso do {p}",)},
       other_none={"es": ("quiero que me devuelvan el pago de la suscripción",),
                   "de": ("bitte erstatten Sie die Abo-Gebühr vom letzten Monat",),
                   "fr": ("je souhaite le remboursement de mon abonnement du mois dernier",),
                   "pt": ("quero o reembolso da assinatura do mês passado",)}),
    _i("invoice_question", "billing", "invoice question", {"none", "cloud"}, [
        "need an invoice for {p} licences", "{p} invoice has the wrong company name",
    ], en_none=["can you send me a VAT invoice?", "the invoice is missing our company address",
                "what is the 'service fee' line on my invoice?", "where do I download past invoices?"],
       urgency="low"),
    _i("plan_change", "billing", "plan change", {"none", "cloud"}, [
        "can we add 20 more seats to {p}?", "we want to move {p} to the annual plan",
    ], en_none=["I want to move from Guard Basic to Guard Plus", "how do I downgrade my subscription?",
                "can I switch to yearly billing?"], urgency="low"),
    _i("cancel_subscription", "billing", "subscription cancellation", {"none"}, [], en_none=[
        "please cancel my Guard subscription", "how do I stop the monthly payments?",
        "I want to cancel the cloud recording plan", "cancel my plan at the end of this month please",
    ], urgency="low"),
    # account ------------------------------------------------------------------------------
    _i("password_reset", "account", "password reset", {"none"}, [], en_none=[
        "forgot my password and the reset email never comes", "how do I reset my password?",
        "the password reset link says it has expired", "can't change my password in the app",
    ], urgency="normal", details=["Checked the spam folder too."],
       other_none={"es": ("olvidé mi contraseña y no llega el correo para restablecerla", "¿cómo cambio mi contraseña?"),
                   "de": ("Passwort vergessen und die E-Mail zum Zurücksetzen kommt nicht", "wie setze ich mein Passwort zurück?"),
                   "fr": ("j'ai oublié mon mot de passe et l'e-mail de réinitialisation n'arrive pas", "comment réinitialiser mon mot de passe ?"),
                   "pt": ("esqueci minha senha e o e-mail de redefinição não chega", "como redefino minha senha?")}),
    _i("locked_out", "account", "account locked", {"none"}, [], en_none=[
        "my account is locked after too many attempts", "I'm locked out of my Kestrel account",
        "it says my account has been suspended and I can't log in", "account locked, can't get in",
    ], urgency="high",
       other_none={"es": ("mi cuenta está bloqueada", "no puedo entrar, dice que la cuenta está bloqueada"),
                   "de": ("mein Konto ist gesperrt", "ich komme nicht mehr in mein Kestrel-Konto, es ist gesperrt"),
                   "fr": ("mon compte est bloqué", "je n'arrive plus à me connecter, le compte est verrouillé"),
                   "pt": ("minha conta está bloqueada", "não consigo entrar, diz que a conta foi bloqueada")}),
    _i("two_factor", "account", "two-factor code not arriving", {"none"}, [], en_none=[
        "the 2FA code never arrives by SMS", "I'm not getting the verification code",
        "changed phone and now can't get my two-factor codes",
    ], urgency="normal"),
    _i("transfer_ownership", "account", "transfer device ownership", PHYSICAL, [
        "I sold my house, how do I transfer {p} to the new owner?", "need to move {p} to my wife's account",
        "how do I remove {p} from my account so someone else can add it?",
    ], urgency="low"),
    _i("delete_account", "account", "account deletion", {"none"}, [], en_none=[
        "please delete my account and all my data", "how do I close my Kestrel account?",
    ], urgency="low"),
    # security -----------------------------------------------------------------------------
    _i("unknown_device", "security", "unknown device on network", {"router", "switch"}, [
        "there's a device I don't recognise connected to {p}", "{p} shows a strange device called android-7f3a",
        "someone is on {p} network who shouldn't be",
    ], details=["I've changed my password just in case.", "Please advise what to do."],
       other={"es": ("hay un dispositivo desconocido conectado a {p}",), "de": ("ein unbekanntes Gerät ist mit {p} verbunden",),
              "fr": ("un appareil inconnu est connecté à {p}",), "pt": ("tem um dispositivo desconhecido conectado ao {p}",)}),
    _i("lock_unexpected", "security", "lock opened unexpectedly", {"lock"}, [
        "{p} unlocked by itself last night", "{p} on our front door opened while nobody was home",
        "{p} log shows an unlock none of us did",
    ], details=["This is really worrying.", "I've taken the batteries out for now."],
       other={"es": ("mi {p} se desbloqueó sola anoche",), "de": ("{p} hat sich heute Nacht von selbst geöffnet",),
              "fr": ("mon {p} s'est déverrouillé tout seul cette nuit",), "pt": ("meu {p} destrancou sozinho ontem à noite",)}),
    _i("suspicious_login", "security", "suspicious login alert", {"none", "cloud"}, [
        "there's a login to {p} from a location none of us are at", "{p} shows an admin session we didn't start",
    ], en_none=["got an alert about a login from another country", "someone logged into my account from an IP I don't know"],
       details=["I've changed my password just in case."]),
    _i("camera_access", "security", "camera accessed by stranger", {"camera"}, [
        "someone else seems to be watching {p}", "{p} moved on its own, someone is controlling it",
        "I heard a voice through {p} speaker that wasn't us",
    ], details=["This is really worrying.", "Please advise what to do."]),
    # shipping -----------------------------------------------------------------------------
    _i("not_arrived", "shipping", "order not arrived", PHYSICAL, [
        "{p} order still hasn't arrived", "it's been two weeks and still no {P}",
        "tracking for {p} hasn't updated in 6 days",
    ], urgency="low", details=["I paid for express delivery."],
       other={"es": ("mi pedido de {p} todavía no ha llegado", "hace dos semanas que espero {p}"),
              "de": ("meine Bestellung {p} ist immer noch nicht angekommen", "ich warte seit zwei Wochen auf {p}"),
              "fr": ("ma commande {p} n'est toujours pas arrivée", "j'attends {p} depuis deux semaines"),
              "pt": ("meu pedido do {p} ainda não chegou", "estou esperando o {p} há duas semanas")}),
    _i("wrong_item", "shipping", "wrong item delivered", PHYSICAL, [
        "I ordered {p} but received something else", "the box says {P} but there's a different device inside",
        "you sent me the wrong thing instead of {p}",
    ], urgency="normal"),
    _i("damaged_delivery", "shipping", "arrived damaged", PHYSICAL, [
        "{p} arrived with a cracked case", "the box was crushed and {p} inside is broken", "my new {P} came damaged",
    ], urgency="normal",
       other={"es": ("{p} llegó roto",), "de": ("{p} kam kaputt an",), "fr": ("{p} est arrivé cassé",), "pt": ("o {p} chegou quebrado",)}),
    _i("return_request", "shipping", "return request", PHYSICAL, [
        "how do I return {p}?", "I want to send {p} back", "can I still return {p}? bought it 20 days ago",
    ], urgency="low"),
    # feedback -----------------------------------------------------------------------------
    _i("feature_request", "feedback", "feature request", PHYSICAL | {"cloud"}, [
        "it would be great if {p} supported HomeKit", "please add a dark mode to {p} screens",
        "any plans to add scheduling to {p}?", "would love an energy report for {p}",
    ], urgency="low",
       other={"es": ("sería genial que {p} funcionara con HomeKit",), "de": ("es wäre toll, wenn {p} HomeKit unterstützen würde",),
              "fr": ("ce serait super si {p} était compatible HomeKit",), "pt": ("seria ótimo se o {p} funcionasse com HomeKit",)}),
    _i("praise", "feedback", "positive feedback", {"none"} | PHYSICAL | {"cloud"}, [
        "just wanted to say {p} is brilliant", "loving {p}, setup took five minutes", "great job on {p}",
    ], en_none=["your support team sorted my issue in minutes, thank you", "just wanted to say the new app is great"],
       urgency="low"),
    _i("app_complaint", "feedback", "app usability complaint", {"none"}, [], en_none=[
        "the new app layout is confusing", "the app is so slow since the redesign",
        "why did you move the settings menu again", "the app logs me out every day",
    ], urgency="low"),
)  # fmt: skip


def applies(issue: Issue, product: Product | None) -> bool:
    if product is None:
        return "none" in issue.kinds
    return product.kind in issue.kinds or product.code in issue.kinds


# The support policy: the urgency of an issue on a product of a tier. Its text is in policy.md.
TIER_RULES = {
    "outage": {"Standard": "normal", "Plus": "high", "Enterprise": "critical", None: "normal"},
    "hardware": {"Standard": "normal", "Plus": "normal", "Enterprise": "high", None: "normal"},
    "setup": {"Standard": "low", "Plus": "low", "Enterprise": "normal", None: "low"},
    "security": {"Standard": "high", "Plus": "high", "Enterprise": "critical", None: "high"},
}


def urgency(issue: Issue, product: Product | None) -> str:
    """The policy's urgency for this issue on this product (see policy_md for the wording)."""
    if issue.safety:
        return "critical"
    if issue.category == "security" and product is not None and product.kind == "lock":
        return "critical"
    if issue.urgency is not None:
        return issue.urgency
    return TIER_RULES[issue.category][product.tier if product else None]


def summary(issue: Issue, product: Product | None) -> str:
    """The ticket summary: '<product name>: <issue>' or, with no product, the issue capitalized."""
    if product is None:
        return issue.summary[0].upper() + issue.summary[1:]
    return f"{product.name}: {issue.summary}"


def schema(categories: tuple[str, ...]) -> dict[str, object]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Kestrel Home support ticket",
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": list(categories)},
            "urgency": {"type": "string", "enum": list(URGENCIES)},
            "product": {"type": "string", "enum": [p.name for p in PRODUCTS] + ["none"]},
            "summary": {"type": "string", "minLength": 1, "maxLength": 80},
        },
        "required": ["category", "urgency", "product", "summary"],
        "additionalProperties": False,
    }


def products_md() -> str:
    lines = [
        f"# {COMPANY} product catalogue",
        "",
        f"{COMPANY} makes home networking and smart-home devices. Customers name products by their",
        "full name, their model code or a nickname; the ticket's `product` field always uses the",
        "full name below (or `none` when the message is about no product). Each product has a",
        "support tier, which sets urgency under the support policy (policy.md).",
        "",
        "| product | model code | customers also say | support tier | what it is |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in PRODUCTS:
        nick = ", ".join(f'"{n}"' for n in p.nicknames)
        lines.append(f"| {p.name} | {p.code} | {nick} | {p.tier} | {p.blurb} |")
    lines += [
        "",
        "Subscriptions (Guard Basic, Guard Plus, cloud recording) are services, not products:",
        "a message about a subscription alone has product `none`.",
        "",
    ]
    return "\n".join(lines)


def policy_md() -> str:
    rows = "\n".join(
        f"| {cat} | "
        + " | ".join(TIER_RULES[cat][t] for t in ("Standard", "Plus", "Enterprise"))
        + " |"
        for cat in TIER_RULES
    )
    return f"""# {COMPANY} support policy: triage

Every ticket gets one `category`, one `urgency`, the `product` it concerns and a short `summary`.

## Categories
- **outage**: a device or service stops working or loses its connection.
- **hardware**: a physical fault (power, damage, battery, lights, noise, heat).
- **setup**: installing, pairing, updating or configuring.
- **billing**: charges, refunds, invoices, plans, subscriptions.
- **account**: logging in, passwords, two-factor codes, ownership, deleting an account.
- **security**: unknown devices, unexpected unlocks, suspicious logins, someone else on a camera.
- **shipping**: orders, deliveries, returns.
- **feedback**: ideas, praise and complaints about the app.

## Urgency
Urgency follows this policy, not the customer's tone: an angry message about a setup question
is still a setup question.

1. **Safety first.** Heat, smoke, sparks or a burning smell from any device: `critical`.
2. **Locks.** A security issue with the Talon Smart Lock (physical access to a home): `critical`.
3. **By tier** for outage, hardware, setup and security issues (the tier is in products.md;
   a security issue that names no product is `high`):

| category | Standard | Plus | Enterprise |
| --- | --- | --- | --- |
{rows}

4. **Billing.** A double charge: `high`. A refund request: `normal`. Invoices, plan changes and
   cancellations: `low`.
5. **Account.** A locked or suspended account: `high`. Password resets, two-factor codes:
   `normal`. Ownership transfers and account deletion: `low`.
6. **Shipping.** Wrong item or arrived damaged: `normal`. Late orders and returns: `low`.
7. **Feedback.** Always `low`.

## Summary
At most ten words, in English whatever the message's language, written as
`<product name>: <issue>` (for example `Skylark Mesh Router: no internet connection`). With no
product, the issue alone, capitalized (`Password reset`).
"""
