"""Spanish word lists: what marks a message as Spanish, and SMS spellings.

Every word here is folded (lower case, accents dropped, "ñ" as "n"), the form
`services.nlu.spanish.fold` gives. `SPANISH` holds words that mark a message as Spanish
(docs/nlu.md, "Language"): function words, the words of our requests, days, months and
numbers, but not the words English shares ("no", "me", "a", "ok", "once" as a word alone
is counted as Spanish only when it is not English: see `services.nlu.language`).
"""

from __future__ import annotations

from services.nlu.text import words

SPANISH: frozenset[str] = words("""
eres soy sos somos vea ver tiempo cine partido hace hacerme ofrecen tratamiento consulta
feliz navidad interesa escriban segunda segundo tercera opcion cualquiera quiero
que quiero quisiera queria quiere quieres queremos necesito necesita necesitas necesitamos
ocupo ocupa necesitaria gustaria gusta encantaria cita citas turno turnos para por porque el
la los las del al de en un una unos unas mi mis su sus tu tus es esta estan estas estoy esto
eso ese esa esos esas este estos tengo tiene tienen tienes tenemos tendran tendras tendra
hay puedo puede puedes pueden podemos podria podrias podrian podre hola gracias buenos
buenas buen dia dias tardes noches manana mananas hoy pasado tarde noche lunes martes
miercoles jueves viernes sabado domingo sabados domingos enero febrero marzo abril mayo
junio julio agosto septiembre setiembre octubre noviembre diciembre semana semanas proximo
proxima como cuando donde cuanto cuanta cuantos cuesta cuestan precio precios cobran cobra
cobras horario horarios abren abre cierran cierra abierto abiertos abierta direccion
ubicacion ubicados estacionamiento estacionar servicios servicio hacen haces ofrecen ofreces
cancelar cancela cancelo cancelen cancelame cancele cancelarla cancelenla anular anula
cambiar cambio cambia cambiame cambiemos mover muevo moverla reagendar reprogramar si claro
dale vale listo perfecto perfecta bien bueno buena porfa porfavor xfa porfis mejor despues
antes ahora ahorita todavia tambien con pero muy mas menos cuarto mediodia medianoche hora
horas lista espera avisame avisenme avisas avisan persona alguien hablar humano corte cortes
pelo barba tinte limpieza seguimiento evaluacion nino ninos nina hijo hija cortarme agendar
agendame agendas reservar reservame apartar apartame anotame apuntame sacar pedir hacer dame
dar das llamar llamame llamenme muchas mil agradezco adios chao nos vemos uno dos tres
cuatro cinco seis siete ocho nueve diez doce quince veinte treinta temprano madrugada luego
otro otra otros disponible disponibles disponibilidad libre libres espacio lugar hueco cupo
algo alguna alguno ninguno ninguna usted ustedes ellos nosotros aqui alla ahi asi ser estar
ir venir llegar asistir voy vas vamos va orale sip nel nop pues entonces verdad cual cuales
quien quienes finde maquina paciente nuevo nueva primera primero vez visita doctora dueno
duena encargado encargada recepcionista estilista barbero clinica barberia consultorio calle
llego encuentro queda quedan mande manden mensajes mensaje textos dejen escribirme deposito
anticipo tarjeta efectivo aceptan pagar paga tratamientos dura duran sirve funciona parece
acuerdo supuesto confirmo confirmada confirmado agendada agendado reservada recuerdas
recuerda sigue jaja jajaja jajajaja jeje jsjs xq pq tmb pa mna mnn kiero qiero kisiera sita
korte oy grax grcs grasias ola holi holis holaa plis sta vdd ntp okis bno baja alta alto
""")
"""Words that mark a message as Spanish (folded)."""

SHORTHAND_ES: dict[str, str] = {
    "q": "que", "k": "que", "ke": "que", "xq": "porque", "pq": "porque", "pk": "porque",
    "porq": "porque", "xfa": "por favor", "xfavor": "por favor", "porfa": "por favor",
    "porfis": "por favor", "porfavor": "por favor", "plis": "por favor", "tmb": "tambien",
    "tb": "tambien", "tambn": "tambien", "pa": "para", "pal": "para el", "d": "de",
    "dnd": "donde", "cdo": "cuando", "bn": "bien", "mna": "manana", "mnn": "manana",
    "maniana": "manana", "mñn": "manana", "oy": "hoy", "kiero": "quiero", "qiero": "quiero",
    "kero": "quiero", "kisiera": "quisiera", "qisiera": "quisiera", "sita": "cita",
    "sitas": "citas", "grax": "gracias", "grcs": "gracias", "grasias": "gracias",
    "grs": "gracias", "gracia": "gracias", "ola": "hola", "holi": "hola", "holis": "hola",
    "tons": "entonces", "ps": "pues", "pos": "pues", "sta": "esta", "toy": "estoy",
    "vdd": "verdad", "nel": "no", "nop": "no", "nelson": "no", "sip": "si", "simon": "si",
    "zi": "si", "okis": "ok", "oki": "ok", "okey": "ok", "xd": "lol", "bno": "bueno",
    "msj": "mensaje", "msjs": "mensajes", "cel": "celular", "aki": "aqui", "sabdo": "sabado",
    "sab": "sabado", "dom": "domingo", "mier": "miercoles", "vie": "viernes", "jue": "jueves",
    "mxn": "manana", "tmprano": "temprano", "hrs": "horas", "hr": "hora",
}
"""Spanish SMS spellings, read as the word (applied only to a message read as Spanish)."""

KEY_ES: frozenset[str] = words("""
manana lunes martes miercoles jueves viernes sabado domingo enero febrero marzo abril junio
julio agosto septiembre octubre noviembre diciembre quiero quisiera necesito cancelar gracias
mediodia semana semanas horario direccion estacionamiento disponible disponibilidad reagendar
reprogramar proximo proxima agendar reservar evaluacion seguimiento despues temprano
servicios precio precios
""")
"""The Spanish words our rules key on: a typo of one of these is read as it."""

NUMBERS_ES: dict[str, str] = {
    "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6", "siete": "7",
    "ocho": "8", "nueve": "9", "diez": "10", "once": "11", "doce": "12", "quince": "15",
    "veinte": "20", "treinta": "30",
}


def _words_of(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in spec.strip().splitlines():
        target, _, sources = line.partition(":")
        for w in sources.split():
            out[w] = target.strip()
    return out


WORDS: dict[str, str] = _words_of("""
i want: quiero
i would like: quisiera deseo
i wanted: queria
i need: necesito ocupo necesitaria
we want: queremos
we need: necesitamos
i am looking for: busco
appointment: cita turno consulta
appointments: citas turnos
book: agendar reservar programar apartar separar anotar apuntar agendarme reservarme
cancel: cancelar cancela cancelo cancelen cancelame cancele cancelarla cancelarlo
cancel: cancelenla cancelenlo
cancel: cancelaria cancelas canceles anular anula anulen anule anulame anulo
cancellation: cancelacion
cancellations: cancelaciones
change: cambiar cambio cambia cambie cambien cambiemos cambiame
move: mover muevo mueve muevan movemos adelantar atrasar
postpone: posponer aplazar postergar
today: hoy
yesterday: ayer
now: ahora
after: despues
later: luego
before: antes
early: temprano
late: tarde
evening: noche
tomorrow: manana
week: semana
weeks: semanas
day: dia
days: dias
month: mes
time: hora
hours: horas
for: para por
with: con
without: sin
of: de
of the: del
to the: al
the: el la los las
it: lo
a: un una
one: uno
some: unos unas
my: mi mis
your: tu tus su sus
and: y
or: o
but: pero
because: porque
that: que
in: en
is: es esta
are: son estan
i am: estoy soy
i have: tengo
has: tiene
do you have: tienen tienes tendran tendras tendra teneis tenes
is there: hay
can i: puedo podre
could i: podria
can you: puede puedes pueden podrias podrian podeis podes
can we: podemos
you: te le usted ustedes os vosotros
wants: quiere
husband: esposo marido
wife: esposa
us: nos
very: muy
more: mas
less: menos
also: tambien
here: aqui aca
so: asi
everything: todo
nothing: nada
something: algo
someone: alguien
any: alguno alguna algun
another: otro otra
new: nuevo nueva
first: primera primer primero
second: segunda segundo
third: tercera tercero
option: opcion
last: ultimo ultima
same: mismo misma
just: solo solamente nomas unicamente
i: yo
we: nosotros
sure: claro dale va sale orale
ok: vale listo bueno
perfect: perfecto perfecta
excellent: excelente
great: genial buenisimo buenisima super
good: bien buena
thanks: gracias
hi: hola buenas oye
bye: adios chao chau
none: ninguno ninguna
never: nunca
person: persona
human: humano
manager: encargado encargada gerente
owner: dueno duena
receptionist: recepcionista
doctor: doctora medico medica
therapist: fisio fisioterapeuta terapeuta
stylist: estilista
barber: barbero
clinic: clinica
barbershop: barberia
office: consultorio
address: direccion
location: ubicacion
located: ubicados ubicado ubicada ubicadas
street: calle
parking: estacionamiento parqueo estacionar parquear aparcar parqueadero
where: donde
how: como
what: cual cuales
who: quien quienes
how much: cuanto cuanta
services: servicios
service: servicio
treatments: tratamientos
treatment: tratamiento
price: precio
prices: precios
cost: costo
deposit: deposito anticipo adelanto sena
card: tarjeta
cards: tarjetas
cash: efectivo
pay: pagar
available: disponible disponibles
availability: disponibilidad
free: libre libres
space: espacio lugar hueco cupo chance espacios huecos cupos
message: mensaje
messages: mensajes
list: lista
kid: nino nina nene nena chamaco
kids: ninos ninas
son: hijo
daughter: hija
sons: hijos
daughters: hijas
come: ir venir pasar
make it: llegar
bring: llevar
open: abierto abiertos abierta
closed: cerrado cerrados cerrada
right: verdad
then: entonces
please: favor
sorry: disculpa disculpe perdon perdona
confirmed: confirmada confirmado
booked: agendada agendado reservada reservado programada programado
: se ya pues
""")
"""The words left after the phrases, one by one (a word not here is kept as written)."""
