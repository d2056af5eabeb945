"""The Spanish rewrite's phrase rules (services/nlu/spanish.py); the words left after them
are read one by one (`spanish_words.WORDS`).

Each phrase rule turns a Spanish phrase into the English the patterns read. Order matters,
and follows one principle: a longer or more specific reading before a shorter one ("pasado
mañana" before "mañana", "de la mañana" before "mañana", "me lo das" before "me das",
"lista de espera" before "lista"). The text is folded (no accents) and "si" is already
"yes" or "if" (`spanish._si`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from services.nlu.spanish_words import NUMBERS_ES

Repl = str | Callable[[re.Match[str]], str]

WEEKDAYS_ES = {"lunes": "monday", "martes": "tuesday", "miercoles": "wednesday",
               "jueves": "thursday", "viernes": "friday", "sabado": "saturday",
               "domingo": "sunday"}
MONTHS_ES = {"enero": "january", "febrero": "february", "marzo": "march", "abril": "april",
             "mayo": "may", "junio": "june", "julio": "july", "agosto": "august",
             "septiembre": "september", "setiembre": "september", "octubre": "october",
             "noviembre": "november", "diciembre": "december", "ene": "jan", "feb": "feb",
             "mar": "mar", "abr": "apr", "jun": "jun", "jul": "jul", "ago": "aug",
             "sep": "sep", "sept": "sep", "oct": "oct", "nov": "nov", "dic": "dec"}
_EN_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WD = "(" + "|".join([*WEEKDAYS_ES, *_EN_DAYS]) + ")"
_MONTH = "(" + "|".join(sorted(MONTHS_ES, key=len, reverse=True)) + ")"
_HOUR = r"(\d{1,2}(?::\d\d)?(?: ?[ap]m)?)"
_NUM = "|".join(NUMBERS_ES)


def _day(name: str) -> str:
    return WEEKDAYS_ES.get(name, name)


def _month(m: re.Match[str]) -> str:
    day = "1" if m.group(1) == "primero" else m.group(1)
    year = f" {m.group(3)}" if m.group(3) else ""
    return f" {MONTHS_ES[m.group(2)]} {day}{year} "


def _less(m: re.Match[str]) -> str:
    """"las 4 menos cuarto" is 3:45."""
    h = int(m.group(1))
    minutes = {"cuarto": 15, "diez": 10, "cinco": 5, "veinte": 20}.get(m.group(2), 0) \
        or int(m.group(2))
    h = 12 if h == 1 else h - 1
    return f" {h}:{60 - minutes:02d} "


def _minutes(m: re.Match[str]) -> str:
    mins = int(m.group(2))
    if not 1 <= mins <= 59:
        return m.group(0)
    return f" {m.group(1)}:{mins:02d} "


_ASK_VERB = {"dar": "give", "das": "give", "da": "give", "dan": "give", "darias": "give",
             "daria": "give", "hacer": "get", "haces": "get", "hace": "get", "hacen": "get",
             "sacar": "get", "conseguir": "get", "consigues": "get", "pasas": "send",
             "pasa": "send", "pasan": "send", "mandas": "send", "manda": "send",
             "mandan": "send", "envias": "send", "envian": "send", "ayudar con": "help with"}


def _ask(m: re.Match[str]) -> str:
    """"me das una cita", "me puedes apartar": asks us to do it for them."""
    return f" can you {_ASK_VERB.get(m.group(1), 'book')} me "


def _works(m: re.Match[str]) -> str:
    return " that does not work " if m.group(0).startswith("no") else " works for me "


_RULES: list[tuple[str, Repl]] = [
    # -- a wrong number, greetings and goodbyes (before their words are read as days)
    (r"\b(?:numero equivocado|me equivoque de numero|equivocad[oa] de numero)\b",
     " wrong number "),
    (r"\b(?:buenos dias|buen dia)\b", " good morning "),
    (r"\bbuenas tardes\b", " good afternoon "),
    (r"\bbuenas noches\b", " good evening "),
    (r"\bhasta (?:manana|el )?(?=\w)", " see you "),
    (r"\b(?:hasta luego|hasta pronto)\b", " bye "),
    (r"\b(?:que onda|que hubo|quiubo|que pex|que paso)\b", " what is up "),
    (r"\bcomo (?:estan|esta|estas|le va|les va|te va)\b", " how are you "),
    (r"\bpor favor\b", " please "),
    (r"\blo siento\b", " sorry "),
    (r"\bde nada\b", " no worries "),
    (r"\bigualmente\b", " same to you "),
    (r"\bfeliz navidad\b", " merry christmas "),
    (r"\bfeliz ano nuevo\b", " happy new year "),
    (r"\bfelices fiestas\b", " happy holidays "),
    (r"\b(?:dia de )?navidad\b", " christmas day "),
    (r"\b(?:en|por) vez de\b|\ben lugar de\b", " instead of "),
    (r"\b(?:cualquiera|cualquier (?:hora|dia)|(?:el que|la que|con quien|a la hora que|cuando) sea|"
     r"quien sea|me da igual|(?:no tengo |sin )preferencia)\b", " no preference "),
    (r"\ba como (?=es|esta|sale|el|la|los|las)", " how much is "),
    (r"\b(?:a primera hora|tempranito|(?:en|por) la mananita)\b", " in the morning "),
    (r"\bnochebuena\b", " christmas eve "),
    (r"\b(?:dia de )?ano nuevo\b", " new years day "),
    (r"\b(?:voy a llegar|llego|llegare|voy|vamos|voy a ir) (?:un poco |unos minutos |\d+ minutos )?"
     r"tarde\b", " i am running late "),
    (r"\b(?:voy|vamos|estoy|ando) en camino\b", " on my way "),
    (r"\bno (?:me |la |lo )?(?:cancelen|cancele|canceles|cancelar|anulen)\b", " do not cancel "),
    # -- opt-out and opt-in
    (r"\b(?:ya )?no (?:me )?(?:manden|mande|mandes|envien|envie|escriban|escriba|escribas|"
     r"texteen|textees|contacten)(?: mas)?(?: (?:mensajes|mensaje|textos|nada))?(?: mas)?\b",
     " stop texting me "),
    (r"\b(?:ya )?no quiero (?:recibir )?(?:mas )?(?:mensajes|textos|notificaciones)(?: mas)?\b",
     " no more messages "),
    (r"\b(?:dejen|deja|dejar|paren|pare) de (?:escribirme|escribir|mandarme|mandar|enviarme|"
     r"enviar|textearme|contactarme|molestarme)(?: (?:mensajes|textos))?\b",
     " stop texting me "),
    (r"\b(?:sacame|saquenme|saqueme|quitame|quitenme|quiteme|borrame|borrenme|eliminame|"
     r"eliminenme) de (?:la|su|tu|esta|sus) listas?(?! de espera)\b",
     " remove me from your list "),
    (r"\b(?:borren|borra|borre|eliminen|elimina|quiten|quita) mi (?:numero|telefono|"
     r"celular|contacto)\b", " remove my number "),
    (r"\b(?:darme|dar|denme|dame|deme|me doy) de baja\b", " unsubscribe "),
    (r"\bcancelar (?:la |mi )?suscripcion\b", " unsubscribe "),
    (r"\b(?:quiero |puedo )?(?:volver a recibir|recibir de nuevo|recibir otra vez) "
     r"(?:los |sus )?(?:mensajes|textos)\b", " start texting me again "),
    (r"\b(?:quiero )?recibir (?:los |sus )?(?:mensajes|textos) (?:otra vez|de nuevo)\b",
     " start texting me again "),
    # -- the waitlist
    (r"\b(?:ponme|ponganme|pongame|pon me|anotame|anotenme|anoteme|apuntame|apuntenme|"
     r"apunteme|agregame|agreguenme|agregueme|me (?:pones|pone|ponen|anotas|anota|anotan|"
     r"apuntas|apunta|apuntan|agregas|agregan|agrega)|quiero estar|puedo estar|estar) "
     r"en (?:la |su |tu )?lista(?: de espera)?\b", " put me on the waitlist "),
    (r"\blista de espera\b", " waitlist "),
    (r"\b(?:avisame|avisenme|aviseme|avisanme|me (?:avisas|avisan|avisa|avisaras|avisarian|"
     r"avisarias|dices|dicen|escribes|escriben|notificas|notifican|mandas un mensaje|"
     r"mandan un mensaje|dejas saber|das aviso)|me (?:puedes|pueden|podrias|podrian) avisar|"
     r"(?:puedes|pueden) avisarme)\b", " let me know "),
    (r"\bif se (?:abre|abren|libera|liberan|desocupa|desocupan|abriera|liberara|desocupara|"
     r"cancela|cancelan)(?: (?:algo|un espacio|un lugar|un hueco|un turno|una cita|un cupo|"
     r"alguna cita|algun espacio|algun lugar|algun hueco|alguno|una))?\b",
     " if something opens up "),
    (r"\bif (?:alguien|algun cliente|alguno|alguna persona) (?:cancela|cancelan|cancelara|"
     r"no llega|no viene)\b", " if someone cancels "),
    (r"\bif hay (?:una |alguna )?(?:cancelacion|cancelaciones)\b",
     " if there is a cancellation "),
    (r"\bif (?:queda|quedan|hay) (?:algo|un espacio|un lugar|algun espacio|algun lugar|"
     r"un hueco|espacio|lugar) (?:libre|libres|disponible|disponibles)\b",
     " if something frees up "),
    (r"\bme lo (?:das|dan|guardas|guardan|apartas|apartan)\b", " i will take it "),
    # -- a person
    (r"\b(?:hablar|platicar|hablo|comunicarme|comunicar|contactar) con\b", " talk to "),
    (r"\b(?:me )?(?:comunicas|comunican|comunica|comuniqueme|comuniquenme|pasas|pasan|"
     r"pasame|pasenme|paseme) con\b", " let me talk to "),
    (r"\b(?:me )?(?:pueden|puedes|podrian|podrias|puede|podria|podeis|podes) (?:llamar|marcar)\b",
     " can someone call me "),
    (r"\b(?:llamenme|llamame|llameme|me llaman|me llamas|me llamen|marcame|marquenme)\b",
     " call me "),
    (r"\b(?:eres|es|son|sos) (?:un |una )?(?:robot|bot|maquina|contestadora)\b",
     " are you a bot "),
    (r"\bpersona real\b", " real person "),
    (r"\balguien (?:de verdad|real)\b", " someone real "),
    # -- other people's business
    (r"\bque tiempo (?:va a hacer|hace|hara)\b", " what is the weather "),
    (r"\b(?:vamos|vas|van|vienes|vienen) (?:al|a la) (?:cine|pelicula)\b",
     " are you coming to the movies "),
    (r"\b(?:el|al|del) partido\b", " the game "),
    # -- numbers said as words, in a time or a count
    (r"\b(?<=la )una\b", "1"),
    (rf"\b({_NUM})\b", lambda m: NUMBERS_ES[m.group(1)]),
    # -- days
    (r"\bpasado manana\b", " the day after tomorrow "),
    (r"\b(?:en|por|de|a|durante|temprano en|temprano por) la manana\b", " in the morning "),
    (r"\b(?:en|por|de) las mananas\b", " mornings "),
    (r"\besta manana\b", " this morning "),
    (r"\bla manana\b", " the morning "),
    (r"\bmanana\b", " tomorrow "),
    (r"\b(?:en|por|de|a|durante) la tarde\b", " in the afternoon "),
    (r"\b(?:en|por|de) las tardes\b", " afternoons "),
    (r"\besta tarde\b", " this afternoon "),
    (r"\bla tarde\b", " the afternoon "),
    (r"\b(?:un poco |un rato )?mas tarde\b", " later "),
    (r"\b(?:en|por|de|a|durante) la noche\b", " in the evening "),
    (r"\b(?:en|por|de) las noches\b", " evenings "),
    (r"\besta noche\b", " tonight "),
    (r"\bla noche\b", " the evening "),
    (r"\b(?:en|por|de) la madrugada\b", " in the morning "),
    (r"\bantes (?:del|de el|de) medio ?dia\b", " before noon "),
    (r"\bdespues (?:del|de el|de) medio ?dia\b", " after noon "),
    (r"\b(?:a|al|a el|para el|como a|como al|tipo) medio ?dia\b", " at noon "),
    (r"\bmedio ?dia\b", " noon "),
    (r"\b(?:a la |a )?media ?noche\b", " midnight "),
    (r"\b(?:despues (?:del|de) (?:trabajo|jale|chamba)|saliendo del trabajo)\b",
     " after work "),
    (r"\bdespues de (?:la )?(?:escuela|clases?)\b", " after school "),
    (rf"\btodos los {_WD}\b", lambda m: f" every {_day(m.group(1))} "),
    (rf"\blos {_WD}s?\b", lambda m: f" {_day(m.group(1))}s "),
    (r"\b(sabado|domingo)s\b", lambda m: f" {_day(m.group(1))}s "),
    (rf"\b(?:el |este |esta )?{_WD} (?:de la |de esta )?(?:semana que viene|proxima semana|"
     r"otra semana|semana entrante)\b", lambda m: f" {_day(m.group(1))} next week "),
    (rf"\b(?:el |la )?(?:proximo|proxima) {_WD}\b", lambda m: f" next {_day(m.group(1))} "),
    (rf"\b(?:el )?{_WD} (?:que viene|proximo|entrante)\b",
     lambda m: f" next {_day(m.group(1))} "),
    (rf"\b(?:este|esta) {_WD}\b", lambda m: f" this {_day(m.group(1))} "),
    (rf"\b(?:el |del |al )?{_WD} (?=\d{{1,2}} de {_MONTH})", " "),
    (rf"\b(?:el |del |al |para el )?{_WD} (\d{{1,2}})(?![\d:]| ?(?:de la|y |am\b|pm\b|hrs|horas|"
     r"in the))\b", r" the \2th "),
    (rf"\b(?:el |del |al )?(?:dia )?(\d{{1,2}}|primero) de {_MONTH}(?: (?:de |del )?(20\d\d))?\b",
     _month),
    (rf"\b(?:el|al|del) {_WD}\b", lambda m: f" {_day(m.group(1))} "),
    (rf"\b{_WD}\b", lambda m: f" {_day(m.group(1))} "),
    (r"\b(?:el|del|al) (?:dia )?([12]?\d|3[01])(?![\d:]| ?(?:de la|y |am\b|pm\b|hrs|horas|"
     r"personas|minutos|dias|semanas|in the))\b", r" the \1th "),
    (r"\b(?:en|dentro de|de aqui a|en unos|dentro de unos) (\d{1,2}|un|una) "
     r"(dias?|semanas?)\b",
     lambda m: f" in {m.group(1) if m.group(1).isdigit() else '1'} "
               f"{'week' if m.group(2).startswith('semana') else 'day'}s "),
    (r"\b(?:la )?(?:semana que viene|proxima semana|semana entrante|otra semana)\b",
     " next week "),
    (r"\besta semana\b", " this week "),
    (r"\b(?:este |el )?(?:fin de semana|finde)\b", " weekend "),
    (r"\b(?:los )?fines de semana\b", " weekends "),
    (r"\bhoy mismo\b", " today "),
    (r"\b(?:ahorita mismo|ahora mismo|ahorita)\b", " right now "),
    # -- times
    (r"\b(\d{1,2}) y media\b", r" \1:30 "),
    (r"\b(\d{1,2}) y cuarto\b", r" \1:15 "),
    (r"\b(\d{1,2}) menos (cuarto|10|5|20|15)\b", _less),
    (r"\b(?:en|para|entre|de|desde) (?:las |la )?(\d{1,2}(?::\d\d)?(?: ?[ap]m)?) (?:y|a|hasta) "
     r"(?:las |la )?(\d{1,2}(?::\d\d)?(?: ?[ap]m)?)(?![\d:])",
     lambda m: (f" from {m.group(1)} to {m.group(2)} " if m.group(0).lstrip().startswith("de")
                else f" between {m.group(1)} and {m.group(2)} ")),
    (r"(?<=las )(\d{1,2}) y (\d{1,2})\b", _minutes),
    (rf"\b{_HOUR} en punto\b", r" \1 oclock "),
    (rf"\b(?:despues|a partir) de (?:las |la )?{_HOUR}(?![\d:])", r" after \1 "),
    (rf"\bantes de (?:las |la )?{_HOUR}(?![\d:])", r" before \1 "),
    (rf"\b(?:como a|como|tipo|a eso de|alrededor de|por ahi de|mas o menos a|aprox a|aprox|"
     rf"sobre|hacia)"
     rf" (?:las |la )?{_HOUR}(?![\d:])", r" around \1 "),
    (rf"\bhasta (?:las |la ){_HOUR}(?![\d:])", r" until \1 "),
    (r"\b(?:la|el) de (?=las? \d)", " the one "),
    (rf"\b(?:a|para|de|desde|por)? ?(?:las|la) {_HOUR}(?![\d:])", r" at \1 "),
    (r"\bat (\d{1,2}) (?:horas|hrs|hr|h)\b", r" at \1:00 "),
    # -- whether we have room, and asking for a booking
    (r"\bme (?:puedes|pueden|puede|podrias|podrian|podria|podra|podran|podeis|podes) "
     r"(dar|hacer|agendar|apartar|reservar|sacar|conseguir|programar|anotar|apuntar|separar|"
     r"ayudar con)\b", _ask),
    (r"\bme (das|da|dan|darias|daria|haces|hace|hacen|agendas|agenda|agendan|apartas|aparta|"
     r"apartan|anotas|anota|anotan|apuntas|apunta|apuntan|reservas|reserva|reservan|"
     r"consigues|separas|pasas|pasan|pasa|mandas|manda|mandan|envias|envian)\b", _ask),
    (r"\bme (?:atienden|atiende|atiendes|atiendan|pueden atender|puede atender|"
     r"puedes atender|podrian atender)\b", " can you see me "),
    (r"\b(?:agendame|agendeme|agendenme|reservame|reserveme|apartame|aparteme|apartenme|"
     r"anotame|apuntame|separame|programame)\b", " book me "),
    (r"\b(?:agendalo|agendala|reservalo|reservala|apartalo|apartala|agendelo|agendela)\b",
     " book it "),
    (r"\b(?:confirmala|confirmalo|confirmela|confirmelo)\b", " confirm it "),
    (r"\b(?:sacar|hacer|pedir|agendar|reservar|programar|apartar|separar|conseguir|tomar) "
     r"(?:una |un |mi |la )?(?:cita|turno|hora|consulta)\b", " book an appointment "),
    (r"\b(?:cortarme|cortar|cortarle|cortarnos) (?:el |mi |su )?(?:pelo|cabello)\b", " corte "),
    (r"\b(?:cortarme|cortarle|cortarse)\b", " corte "),
    (r"\bcorte de cabello\b", " corte de pelo "),
    (r"\b(?:pintarme|tenirme|pintar|tenir) (?:el )?(?:pelo|cabello)\b", " tinte "),
    (r"\b(?:arreglarme|arreglar|recortar|recortarme|perfilar|perfilarme) (?:la )?barba\b",
     " arreglo de barba "),
    (r"\bprimera vez\b", " first time "),
    (r"\b(?:(?:paciente|cliente) nuev[oa]|nuev[oa] (?:paciente|cliente))\b", " new patient "),
    (r"\b(?:tienen|tienes|tiene|tendran|tendras|tendra|habra|hay|teneis|tenes) "
     r"(?:algun |alguna |un |una )?(?:espacios?|lugar|lugares|huecos?|cupos?|chance|campo|"
     r"espacito|campito|disponibilidad)\b", " do you have availability "),
    (r"\bhay (?:citas|turnos)\b", " any appointments "),
    (r"\bhay que (?:pagar|dejar|dar)\b", " do i have to pay "),
    (r"\bse paga\b", " do i pay "),
    (r"\bse puede (hacer|agendar|reservar|sacar|pedir|cambiar|reagendar|mover|pasar|"
     r"adelantar|ir|llevar|cancelar|pagar|apartar)\b", r" can i \1 "),
    (r"\bse puede\b", " possible "),
    (r"\bpuede ser\b", " maybe "),
    (r"\bque me (?:vea|vean|atienda|atiendan|revise|revisen|cheque|chequen)\b", " to see "),
    (r"\b(?<!no )(?<!la )(?<!lo )(?:puedo|podemos) (?:ir|pasar(?! (?:mi|la|el|su|nuestra) )|"
     r"venir|llegar)\b", " can i come "),
    (r"\b(?<!no )(?:podria|podre|podriamos) (?:ir|pasar(?! (?:mi|la|el|su|nuestra) )|venir|"
     r"llegar)\b", " could i come "),
    (r"\b(tienes|tienen|tiene|tendran|tendras|teneis|tenes|hay|algo|queda|quedan|dias|horas|"
     r"esta|estara|estan) (?:algo )?(?:libres?|disponibles?)\b", r" \1 available "),
    (r"\b(?:me urge|urge|me hace falta)\b", " i need "),
    (r"\blo mas (?:temprano|pronto)(?! posible)\b", " the earliest "),
    (r"\bpasar a\b", " come in for "),
    (r"\bno me interesa\b", " not interested "),
    (r"\bme (?:gustaria|encantaria|interesa|interesaria)\b", " i would like "),
    (r"\b(?:ando|estoy|estamos) buscando\b", " i am looking for "),
    (r"\b(?:lo antes posible|lo mas pronto posible|lo mas rapido posible|cuanto antes|"
     r"lo mas pronto|lo antes que se pueda)\b", " as soon as possible "),
    (r"\b(?:el |la )?(?:primer|primera) (?:espacio|hora|cita|turno|lugar|hueco)"
     r"(?: (?:disponible|libre))?\b", " first available "),
    # -- cancelling
    (r"\bya no (?:voy a )?(?:necesito|necesitar|ocupo|ocupar|quiero|querer)\b",
     " i no longer need "),
    (r"\bno voy a necesitar\b", " i will not need "),
    (r"\b(?:ya )?no (?:voy a|vamos a) poder (?:ir|venir|llegar|asistir|acudir|hacerlo|estar)\b",
     " i will not be able to make it "),
    (r"\b(?:ya )?no (?:podre|podremos|puedo|podemos) (?:ir|venir|llegar|asistir|acudir|estar)\b",
     " i cannot make it "),
    (r"\b(?:ya )?no (?:voy|vamos) a (?:ir|venir|llegar|asistir|poder)\b",
     " i am not going to make it "),
    (r"\b(?:me surgio|surgio|se me presento|me salio) algo\b|\bse me complico\b",
     " something came up "),
    (r"\b(?:me enferme|estoy enferm[oa])\b", " i am sick "),
    (r"\b(?:la|lo) cancelo\b", " i cancel it "),
    (r"\bno (?:puedo|podemos|podre)\b(?! (?:ir|venir|llegar|asistir|acudir|estar)\b)",
     " i cannot do "),
    # -- moving
    (r"\b(?:cambiar|cambio|cambia|cambie|cambien|cambiemos) (?:el|la) (?:dia|hora|fecha|"
     r"horario) de (?:mi|la) (?:cita|turno)\b", " change the time of my appointment "),
    (r"\bme (?:cambias|cambian|cambia|mueves|mueven|mueve|pasas|pasan|pasa|recorres|recorren|"
     r"recorre|adelantas|adelantan|atrasas|atrasan) (?:el|la|mi)\b", " can you move my "),
    (r"\bme (?:cambias|cambian|mueves|mueven|pasas|pasan|recorres|recorren|adelantas|"
     r"adelantan|atrasas|atrasan)\b", " can you move my appointment "),
    (r"\b(?:la|lo) (?:puedo|podemos|pueden|puedes|podria|podrias|podriamos) (?:pasar|mover|"
     r"cambiar|adelantar|atrasar|recorrer)\b", " can i move it "),
    (r"\b(?:cambiar|cambio|cambia|cambie|cambien|cambiemos|cambiame|mover|muevo|mueve|muevan|"
     r"movemos|pasar|paso|pasa|pasen|pasamos|recorrer|recorre|recorran|adelantar|adelanta|"
     r"adelanten|atrasar|atrasa|posponer|pospon|aplazar|postergar) (?:(?:la|mi|el|su|nuestra) |"
     r"(?:de )?(?=cita|turno))", " move my "),
    (r"\b(?:cambiar|mover)(?= (?:para|a|al|pa|por)\b)", " move it "),
    (r"\b(?:moverla|moverlo|muevela|muevelo|cambiarla|cambiarlo|cambiala|cambialo|pasarla|"
     r"pasarlo|pasala|pasalo|recorrerla|adelantarla|posponerla|moverle)\b", " move it "),
    (r"\b(?:reagendar|reagenda|reagendo|reagende|reagenden|reagendame|reagendarla|reagendarlo|"
     r"reprogramar|reprograma|reprogramo|reprogramarla|reprogramarlo|reprogramen)\b",
     " reschedule "),
    # -- the appointment asked about
    (r"\b(?:a )?que hora\b", " what time "),
    (r"\bque (?:dia|fecha)\b", " what day "),
    (r"\b(?:para )?cuando\b", " when "),
    (r"\b(what time|what day|when) (?:es|era|seria|sera|quedo|queda|me toca)\b", r" \1 is "),
    (r"\b(what time|what day|when) (?:tengo|tenia|tendre)\b", r" \1 do i have "),
    (r"\b(?:mi|la) (?:cita|turno) (?:sigue|esta|queda|sigue estando) (?:en pie|vigente|"
     r"confirmad[ao]|agendad[ao]|reservad[ao]|programad[ao])\b", " is my appointment still on "),
    (r"\b(?:sigue|esta|ya esta|queda) (?:en pie|vigente|confirmad[ao]|agendad[ao]|"
     r"reservad[ao]) (?:mi|la) (?:cita|turno)\b", " is my appointment still on "),
    (r"\b(?:mi|la) (?:cita|turno) es\b", " is my appointment "),
    (r"\b(?:tengo|tenemos) (?:una |alguna |mi |la )?(?:cita|citas|turno|appointment|appt)\b",
     " do i have an appointment "),
    (r"\bme (?:recuerdas|recuerda|recuerdan|podrias recordar|puedes recordar)\b",
     " remind me "),
    (r"\b(?:me )?(?:confirmas|confirma|confirman|puedes confirmar|pueden confirmar|confirmar) "
     r"(?:la|mi) (?:cita|turno)\b", " can you confirm my appointment "),
    (r"\bme (?:confirmas|confirma|confirman|puedes confirmar|pueden confirmar)\b",
     " can you confirm "),
    # -- hours, place, services, prices
    (r"\bhasta what time\b", " how late "),
    (r"\b(?:estan|esta|estaran) (?:abiertos|abiertas|abierto|abierta)\b", " are you open "),
    (r"\b(?:atienden|atiende|abren|abre|abres|abris|trabajan|trabaja|trabajais)\b",
     " are you open "),
    (r"\b(?:cierran|cierra|cierras|cerrais)\b", " do you close "),
    (r"\b(?:ese|este|esa|esta) (?:hora|horario)\b", " that time "),
    (r"\botr[oa] (?:hora|horario)\b", " another time "),
    (r"\b(?:ese|esa) (?:dia|fecha)\b", " that day "),
    (r"\botro (?:dia|fecha)\b", " another day "),
    (r"\bhorario de (?:mi|la) cita\b", " time of my appointment "),
    (r"\bhorarios? (?:libres?|disponibles?)\b", " times available "),
    (r"\bhorarios?\b", " hours "),
    (r"\bdonde (?:estan|quedan|se encuentran|se ubican)\b", " where are you "),
    (r"\bdonde (?:esta|queda)\b", " where is "),
    (r"\bdonde (?:los|las|lo|la|os) (?:encuentro|encuentra)\b", " where can i find you "),
    (r"\bcomo (?:llego|llegar|le hago para llegar)\b", " how do i get there "),
    (r"\b(?:en )?que calle\b", " what street "),
    (r"\bque servicios (?:tienen|ofrecen|hay|hacen|dan|manejan|tiene|ofrece)\b",
     " what services do you offer "),
    (r"\bque (?:tratamientos|cosas) (?:tienen|ofrecen|hay|hacen|dan)\b",
     " what services do you offer "),
    (r"\bque hacen(?: ustedes)?\b", " what do you do "),
    (r"\b(?:ustedes |tambien )?(?:hacen|haces|haceis|ofrecen|ofreces|ofreceis|ofrece|manejan)\b",
     " do you do "),
    (r"\bcuanto (?:tiempo )?(?:dura|duran|tarda|tardan|se tarda|toma|lleva)\b",
     " how long does "),
    (r"\bcuanto tiempo\b", " how long "),
    (r"\b(?:en )?(?:cuanto|cuanta) (?:me )?(?:cuesta|cuestan|cobran|cobras|cobra|sale|salen|"
     r"vale|valen|es|seria|sera|son|esta|estan)\b", " how much is "),
    (r"\bque precio tienen?\b", " what is the price of "),
    (r"\blista de precios\b", " price list "),
    (r"\b(?:aceptan|acepta|aceptas|aceptais|reciben|toman|puedo pagar con|se puede pagar con)\b",
     " do you take "),
    (r"\b(do you take|mi|con|el|su|tu|de|sin|tienen) seguro(?: medico)?\b", r" \1 insurance "),
    # -- yes, no, thanks
    (r"\bclaro que (?:yes|si)\b", " of course "),
    (r"\bpor supuesto\b", " of course "),
    (r"\bde acuerdo\b", " agreed "),
    (r"\bme (?:parece|late) (?:bien|perfecto|excelente|buenisimo|genial)\b", " sounds good "),
    (r"\b(?:asi )?(?:esta|estaria|queda) (?:bien|perfecto|perfecta|excelente|genial)"
     r"(?: asi)?\b", " that is fine "),
    (r"\bno puedo (?:a )?(?:that time|that day)\b", " i cannot do that time "),
    (r"\b(?:no )?me (?:sirve|funciona|queda|conviene|viene|acomoda|vendria|va)(?: bien)?\b",
     _works),
    (r"\b(?:no es necesario|no hace falta|no se necesita)\b", " no need "),
    (r"\b(?:dejala|dejalo|dejarla|dejarlo|dejemosla|dejemoslo) (?:como esta|asi|igual|"
     r"como estaba)\b|\b(?:asi|igual) (?:dejala|dejalo)\b", " leave it as is "),
    (r"\b(?:(?:despues|luego|mas tarde|later|yo) te (?:aviso|escribo|confirmo|digo)|"
     r"te (?:aviso|escribo|confirmo) (?:despues|luego|later))\b", " i will let you know "),
    (r"\bmejor no\b", " rather not "),
    (r"\b(?:ahorita|ahora|por ahora|right now) no\b", " not now "),
    (r"\b(?:todavia|aun) no\b", " not yet "),
    (r"\bmejor (?:luego|despues|later|another day|en otra ocasion)\b", " maybe later "),
    (r"\b(?:ninguna de (?:esas|esos|las dos)|ninguno de (?:esos|los dos))\b",
     " none of those "),
    (r"\bno quiero\b", " i do not want "),
    (r"\b(?:eso )?(?:es|era|seria) todo\b", " that is all "),
    (r"\b(?:muchas|mil|muchisimas) gracias\b|\bgracias mil\b", " thank you so much "),
    (r"\b(?:te lo|se lo|le|te) agradezco\b|\bse agradece\b|\bagradecid[oa]\b",
     " appreciate it "),
    (r"\bmuy amables?\b", " thank you "),
    (r"\bnos vemos\b", " see you "),
    (r"\bque tal\b(?! ?[?!.,]? *$)", " how about "),
    (r"\bque tal\b", " how are you "),
    (r"\by if (?:es )?\b", " what about "),
    (r"\b(?:o )?mejor\b", " actually "),
    (r"\bvoy a\b", " i am going to "),
    (r"\bvamos a\b", " we are going to "),
    (r"\bva a\b", " is going to "),
    (r"\bes para\b", " it is for "),
]

PHRASES: tuple[tuple[re.Pattern[str], Repl], ...] = tuple(
    (re.compile(p), r) for p, r in _RULES)

WHOLE: dict[str, str] = {
    "baja": "stop", "alto": "stop", "parar": "stop", "alta": "start", "cancelar": "cancel",
    "reagendar": "reschedule", "ayuda": "help", "yes": "yes", "if": "yes",
}
"""Whole messages that are commands (the carriers' Spanish keywords: BAJA stops, ALTA
starts again; "ALTO" is read as a stop too)."""
