"""The classifier's training corpus: a seeded generator of French messages labelled with a contact motive.

Each motive has subjects and sentences with slots; a message is assembled from them and then roughened the way
people write: greetings and signatures, no accents, typos, SMS abbreviations, everything in lower case, a second
topic in the same message (the label stays the main one), a reply quoting an earlier mail, an empty subject, a
subject with no body. The same seed gives the same file.

    python -m omniguichet.crm.classifier.corpus            # rewrites crm/data/classifier/train.jsonl
    python -m omniguichet.crm.classifier.corpus --count 4000 --seed 7 --out /tmp/train.jsonl

The held-out file next to it (`heldout.jsonl`) is not generated: it was written by hand, in other words.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CLASSIFIER_DIR = DATA_DIR / "classifier"
TRAIN_PATH = CLASSIFIER_DIR / "train.jsonl"
HELDOUT_PATH = CLASSIFIER_DIR / "heldout.jsonl"
DEFAULT_COUNT = 3900
DEFAULT_SEED = 20261204


@cache
def motive_codes() -> tuple[str, ...]:
    """The referential's contact motives (`crm/data/motives.csv`), in the file's order."""
    with (DATA_DIR / "motives.csv").open(encoding="utf-8") as f:
        return tuple(row["code"] for row in csv.DictReader(f))


@dataclass(frozen=True)
class Topic:
    subjects: tuple[str, ...]
    sentences: tuple[str, ...]  # the request itself
    details: tuple[str, ...] = ()  # context that may come before or after it
    aside: tuple[str, ...] = ()  # a short mention of this topic inside a message about another


SLOTS: dict[str, tuple[str, ...]] = {
    "org": (
        "mon employeur",
        "la CAF",
        "France Travail",
        "pole emploi",
        "ma mutuelle",
        "l'hopital",
        "la mairie",
        "mon bailleur",
        "la prefecture",
        "mon école",
        "l'université",
        "mon nouvel employeur",
        "la clinique",
        "les impôts",
        "mon assurance",
        "la crèche",
        "mon agence d'intérim",
        "le centre de formation",
    ),
    "pays": (
        "Espagne",
        "Italie",
        "Portugal",
        "Allemagne",
        "Grèce",
        "Belgique",
        "Croatie",
        "Suisse",
        "Irlande",
        "Pologne",
        "Autriche",
        "Pays-Bas",
        "Roumanie",
        "Suède",
        "Malte",
    ),
    "mois": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "annee": ("2024", "2025", "2026", "l'année dernière", "cette année"),
    "soin": (
        "une consultation chez le dentiste",
        "des lunettes",
        "une séance de kiné",
        "une prise de sang",
        "une consultation chez mon généraliste",
        "une radio",
        "des médicaments à la pharmacie",
        "une consultation chez le dermato",
        "une IRM",
        "des séances d'orthophonie",
        "une échographie",
        "un passage aux urgences",
        "des soins infirmiers",
        "une consultation chez l'ophtalmo",
        "une couronne dentaire",
        "des semelles orthopédiques",
        "un vaccin",
        "la visite chez le pédiatre",
    ),
    "piece": (
        "mon avis d'imposition",
        "un justificatif de domicile",
        "la copie de ma carte d'identité",
        "l'acte de naissance de ma fille",
        "le livret de famille",
        "mes trois derniers bulletins de salaire",
        "le certificat de scolarité de mon fils",
        "le jugement de divorce",
        "mon titre de séjour",
        "l'attestation de mon employeur",
        "le certificat médical",
        "la facture de l'opticien",
        "la prescription du médecin",
        "mon passeport",
        "la quittance de loyer",
        "le formulaire rempli et signé",
        "l'attestation de Pôle emploi",
        "le certificat de décès",
        "mon contrat de travail",
        "la déclaration de ressources",
        "le devis du dentiste",
    ),
    "ville": (
        "Lyon",
        "Marseille",
        "Lille",
        "Toulouse",
        "Nantes",
        "Rennes",
        "Bordeaux",
        "Strasbourg",
        "Metz",
        "Dijon",
        "Grenoble",
        "Angers",
        "Limoges",
        "Amiens",
        "Perpignan",
        "Brest",
        "Nancy",
        "Tours",
        "Caen",
        "Nice",
    ),
    "jours": ("15 jours", "3 semaines", "un mois", "deux mois", "10 jours", "plus d'un mois", "6 semaines"),
    "montant": (
        "25 euros",
        "47,50 €",
        "120 €",
        "300 euros",
        "60€",
        "89 euros",
        "1 200 €",
        "35 €",
        "210 euros",
    ),
    "proche": ("ma fille", "mon fils", "mon mari", "ma femme", "mon conjoint", "ma mère", "mes enfants"),
}

TOPICS: dict[str, Topic] = {
    "attestation_droits": Topic(
        subjects=(
            "Attestation de droits",
            "demande attestation",
            "attestation securité sociale",
            "Besoin d'une attestation d'affiliation",
            "attestation de droits svp",
            "Justificatif de droits",
            "attestation d'assuré",
            "Demande de document",
            "attestation pour {org}",
            "droits ouverts ?",
        ),
        sentences=(
            "Pourriez-vous m'envoyer une attestation de droits ?",
            "J'ai besoin d'une attestation de droits à l'assurance maladie pour {org}.",
            "{org} me demande une attestation de sécurité sociale, pouvez-vous me la faire parvenir ?",
            "je voudrais une attestation de mes droits a jour",
            "Merci de m'adresser une attestation d'affiliation pour moi et {proche}.",
            "Je n'arrive pas à télécharger mon attestation de droits sur le site, pouvez-vous me l'envoyer par mail ?",
            "Est-ce que je peux avoir un document qui prouve que je suis bien assuré chez vous ?",
            "il me faut un papier qui prouve que j'ai des droits ouverts",
            "Pouvez-vous me transmettre une attestation de droits avec {proche} rattaché(e) ?",
            "je dois fournir une attestation de couverture maladie a {org}",
            "Je souhaiterais obtenir l'attestation de droits de {proche}.",
            "merci de m'envoyer l'attestation vitale, mon dossier d'inscription est bloqué sans elle",
            "Je voudrais savoir si mes droits sont bien ouverts et avoir l'attestation qui va avec.",
        ),
        details=(
            "C'est pour une inscription auprès de {org}.",
            "Je commence un nouveau travail le mois prochain.",
            "Je viens d'arriver à {ville}.",
            "L'hôpital me la réclame avant mon hospitalisation.",
            "Je n'ai plus accès à mon compte en ligne.",
            "Mon dossier est incomplet sans ce document.",
        ),
        aside=(
            "et j'aurais aussi besoin d'une attestation de droits",
            "il me faudra aussi l'attestation de droits",
        ),
    ),
    "releve_remboursements": Topic(
        subjects=(
            "Relevé de remboursements",
            "demande de décompte",
            "releve des remboursements {annee}",
            "Historique des remboursements",
            "décomptes",
            "relevé pour ma mutuelle",
            "Relevé annuel",
            "copie des decomptes",
        ),
        sentences=(
            "Pourriez-vous m'envoyer le relevé de mes remboursements de {mois} à {mois} ?",
            "J'ai besoin d'un relevé de remboursements pour {annee} pour ma déclaration.",
            "Ma mutuelle me demande le décompte de la sécurité sociale pour {soin}.",
            "je voudrais l'historique de mes remboursements des 6 derniers mois",
            "Est-il possible d'obtenir un récapitulatif de tous les remboursements de {annee} ?",
            "merci de me transmettre les décomptes de paiement du mois de {mois}",
            "Je ne trouve pas mes relevés de remboursements sur mon compte, pouvez-vous me les envoyer ?",
            "Il me faut un état des prestations versées pour {proche} depuis {mois}.",
            "je souhaite recevoir une copie du décompte concernant {soin}",
            "Pouvez-vous m'éditer la liste des soins remboursés sur l'année {annee} ?",
        ),
        details=(
            "La mutuelle refuse de me rembourser sans ce document.",
            "C'est pour compléter un dossier auprès de {org}.",
            "Je n'ai pas reçu les relevés papier.",
            "J'ai perdu les décomptes que vous m'aviez envoyés.",
        ),
        aside=("et le relevé de mes remboursements", "j'aurai aussi besoin d'un decompte des remboursements"),
    ),
    "carte_europeenne": Topic(
        subjects=(
            "Carte européenne",
            "CEAM",
            "demande carte europeenne d'assurance maladie",
            "voyage en {pays}",
            "carte europeenne pour les vacances",
            "Séjour à l'étranger",
            "CEAM pour {proche}",
            "départ en {pays}",
        ),
        sentences=(
            "Je pars en {pays} le mois prochain, pouvez-vous m'envoyer une carte européenne d'assurance maladie ?",
            "je voudrais commander la CEAM pour toute la famille",
            "Ma carte européenne expire en {mois}, comment la renouveler ?",
            "Nous partons en vacances en {pays} cet été, il nous faut la carte européenne.",
            "Je n'ai toujours pas reçu la carte européenne demandée il y a {jours}, je pars bientôt.",
            "Puis-je avoir un certificat provisoire de remplacement de la CEAM pour mon voyage en {pays} ?",
            "{proche} part en Erasmus en {pays}, quelle démarche pour être couvert(e) là-bas ?",
            "est ce que la carte europeenne marche en {pays} ?",
            "je pars en stage à l'étranger ({pays}) et on me demande la carte européenne",
            "Comment être remboursé de soins faits en {pays} pendant mes vacances, j'avais la carte européenne ?",
        ),
        details=(
            "Le départ est prévu le {mois} prochain.",
            "Nous serons quatre à voyager.",
            "C'est un séjour de deux semaines.",
            "J'ai fait la demande sur le site mais rien reçu.",
        ),
        aside=("et la carte européenne pour nos vacances", "il me faudrait aussi la CEAM"),
    ),
    "attestation_ij": Topic(
        subjects=(
            "Attestation d'indemnités journalières",
            "attestation IJ",
            "attestation de paiement des IJ",
            "Relevé des indemnités {annee}",
            "attestation indemnites pour {org}",
            "montant des IJ perçues",
            "attestation arrêt maladie pour les impôts",
        ),
        sentences=(
            "Pourriez-vous m'envoyer une attestation des indemnités journalières perçues en {annee} ?",
            "{org} me demande une attestation de paiement de mes indemnités journalières.",
            "j'ai besoin du relevé des IJ versées pendant mon arrêt de {mois} à {mois}",
            "Je souhaiterais une attestation du montant des indemnités journalières pour ma déclaration d'impôts.",
            "Il me faut un justificatif des indemnités touchées pendant mon congé maternité.",
            "Pouvez-vous me fournir une attestation d'IJ pour mon dossier chez {org} ?",
            "merci de m'adresser l'attestation de versement des indemnites journalieres de mon arret maladie",
            "Je n'arrive pas à télécharger l'attestation de paiement des indemnités sur mon compte.",
            "La banque veut un document qui montre les indemnités que vous m'avez versées ces 3 derniers mois.",
        ),
        details=(
            "J'ai été en arrêt maladie de {mois} à {mois}.",
            "Mon arrêt est terminé depuis {jours}.",
            "C'est pour un dossier de logement.",
            "Le montant déclaré par les impôts me paraît faux.",
        ),
        aside=(
            "et une attestation des IJ versées",
            "il me faut aussi l'attestation de paiement des indemnités",
        ),
    ),
    "changement_adresse": Topic(
        subjects=(
            "Changement d'adresse",
            "nouvelle adresse",
            "déménagement",
            "modification adresse postale",
            "j'ai démenagé",
            "Mise à jour de mes coordonnées",
            "adresse",
            "Changement de domicile",
        ),
        sentences=(
            "Je vous informe de mon changement d'adresse : j'habite désormais {num} rue {rue}, {cp} {ville}.",
            "J'ai déménagé, voici ma nouvelle adresse : {num} avenue {rue} à {ville}.",
            "merci de mettre à jour mon adresse, je suis maintenant à {ville}",
            "Nous venons de déménager à {ville}, comment faire le changement d'adresse ?",
            "je n'habite plus à l'ancienne adresse, mon courrier doit être envoyé au {num} rue {rue} {cp} {ville}",
            "Pouvez-vous modifier mon adresse postale sur mon dossier ?",
            "Je change de département, je vais habiter à {ville}, faut-il changer de caisse ?",
            "Mon adresse a changé depuis le 1er {mois}, je n'arrive pas à la modifier en ligne.",
            "Vos courriers arrivent toujours à mon ancien domicile, je vous redonne mon adresse actuelle.",
            "nouvelle adresse pour moi et {proche} : {num} chemin {rue}, {ville}",
        ),
        details=(
            "Le déménagement a eu lieu le {mois} dernier.",
            "Je ne reçois plus aucun courrier.",
            "J'ai aussi prévenu {org}.",
        ),
        aside=("et je vous signale que j'ai déménagé à {ville}", "au passage j'ai changé d'adresse"),
    ),
    "changement_rib": Topic(
        subjects=(
            "Changement de RIB",
            "nouveau RIB",
            "changement de coordonnées bancaires",
            "modif compte bancaire",
            "RIB",
            "changement de banque",
            "Mise à jour IBAN",
        ),
        sentences=(
            "J'ai changé de banque, vous trouverez ci-joint mon nouveau RIB pour les remboursements.",
            "merci d'enregistrer mon nouveau relevé d'identité bancaire",
            "Je souhaite que mes remboursements soient versés sur mon nouveau compte.",
            "Mon ancien compte est clôturé, comment vous transmettre mon nouveau RIB ?",
            "Pouvez-vous modifier mes coordonnées bancaires ? Voici mon IBAN : FR76 {iban}.",
            "j'ai ouvert un compte à la {banque}, il faut changer le rib sur mon dossier",
            "Les virements doivent désormais arriver sur le compte joint, je joins le RIB.",
            "Je n'arrive pas à changer mon RIB sur le site, pouvez-vous le faire ?",
            "je veux que les indemnités soient versées sur mon nouveau compte bancaire",
            "Suite à mon divorce j'ai un nouveau compte, merci de mettre à jour mes coordonnées bancaires.",
        ),
        details=(
            "Mon ancienne banque a fermé le compte le {mois} dernier.",
            "Le dernier remboursement a été rejeté par la banque.",
            "Le compte est à mon nom seul maintenant.",
        ),
        aside=("et j'ai aussi changé de banque, nouveau RIB joint", "au passage mon RIB a changé"),
    ),
    "ij_suivi": Topic(
        subjects=(
            "Indemnités journalières non versées",
            "suivi de mes IJ",
            "arrêt de travail pas payé",
            "paiement arret maladie",
            "Retard indemnisation",
            "IJ",
            "Où en sont mes indemnités ?",
            "pas d'indemnités depuis {jours}",
            "calcul des indemnités journalières",
        ),
        sentences=(
            "Je suis en arrêt maladie depuis le {jour} {mois} et je n'ai toujours rien perçu.",
            "mes indemnites journalieres ne sont pas versées depuis {jours}, comment je paye mon loyer ?",
            "Pouvez-vous me dire où en est le paiement de mes indemnités journalières ?",
            "Mon employeur a envoyé l'attestation de salaire mais je ne suis toujours pas payé.",
            "Le montant de mes IJ me paraît trop faible, pouvez-vous vérifier le calcul ?",
            "j'ai envoyé ma prolongation d'arrêt il y a {jours} et les paiements se sont arrêtés",
            "Quand vais-je recevoir les indemnités de mon arrêt de travail ?",
            "Je suis en accident du travail et je ne touche rien depuis {jours}.",
            "les IJ de mon congé maternité n'ont pas été versées",
            "Pourquoi mes indemnités journalières ont-elles été suspendues ?",
            "je comprend pas pourquoi j'ai eu que la moitié de mes indemnités ce mois ci",
            "Mon arrêt a été prolongé, est-ce que les indemnités continuent automatiquement ?",
        ),
        details=(
            "Mon médecin m'a arrêté pour {jours}.",
            "L'arrêt a bien été transmis en ligne par le médecin.",
            "Je suis en mi-temps thérapeutique depuis le {mois}.",
            "Je n'ai plus de salaire et les factures s'accumulent.",
            "Mon employeur ne pratique pas la subrogation.",
        ),
        aside=(
            "et mes indemnités journalières ne sont toujours pas arrivées",
            "ps : toujours pas d'IJ versées",
        ),
    ),
    "remboursement": Topic(
        subjects=(
            "Remboursement de soins",
            "remboursement",
            "pas remboursé",
            "feuille de soins",
            "Remboursement {soin}",
            "question remboursement",
            "soins non remboursés",
            "remboursement en attente",
            "Feuille de soins papier",
        ),
        sentences=(
            "J'ai eu {soin} le {jour} {mois} et je n'ai toujours pas été remboursé.",
            "J'ai envoyé une feuille de soins papier il y a {jours}, quand serai-je remboursé ?",
            "Pourquoi {soin} ne m'a été remboursé qu'à moitié ?",
            "je n'ai pas été remboursée pour {soin}, pouvez vous regarder",
            "Le remboursement de {montant} pour {soin} n'apparaît pas sur mon compte.",
            "Comment me faire rembourser {soin} payé(e) à l'étranger ?",
            "Le pharmacien n'a pas pris ma carte, comment obtenir le remboursement des médicaments ?",
            "Est-ce que {soin} est pris en charge et à quel taux ?",
            "j'ai avancé les frais pour {soin} de {proche}, on attend toujours le remboursement",
            "Vous avez remboursé {montant} au lieu de {montant}, pouvez-vous vérifier ?",
            "Le remboursement de {soin} a été versé sur un mauvais compte ?",
            "Je voudrais savoir si la feuille de soins que j'ai postée le {jour} {mois} est bien arrivée.",
        ),
        details=(
            "J'ai payé {montant} de ma poche.",
            "Le médecin n'avait pas de lecteur de carte vitale.",
            "C'était pour {proche}.",
            "La feuille de soins a été envoyée à {ville}.",
        ),
        aside=("et un soin n'a jamais été remboursé", "j'attends aussi le remboursement de {soin}"),
    ),
    "carte_vitale": Topic(
        subjects=(
            "Carte vitale",
            "carte vitale perdue",
            "Vol de carte vitale",
            "nouvelle carte vitale",
            "carte vitale ne fonctionne plus",
            "Commande carte vitale",
            "carte vitale de {proche}",
            "carte vitale cassée",
            "photo carte vitale",
        ),
        sentences=(
            "J'ai perdu ma carte vitale, comment en obtenir une nouvelle ?",
            "On m'a volé mon portefeuille avec ma carte vitale dedans.",
            "ma carte vitale est cassée, le pharmacien ne peut plus la lire",
            "J'ai fait la demande de carte vitale il y a {jours} et je ne l'ai toujours pas reçue.",
            "Comment faire une carte vitale pour {proche} qui vient d'avoir 12 ans ?",
            "je n'ai jamais reçu ma carte vitale depuis mon arrivée",
            "Le formulaire de photo pour la carte vitale, où dois-je l'envoyer ?",
            "La carte vitale n'est pas à jour, la pharmacie dit que mes droits sont fermés.",
            "Mon nom sur la carte vitale est mal orthographié.",
            "Est-ce que je peux avoir l'appli carte vitale sur mon téléphone ?",
            "ma carte vitale a été abimée dans la machine à laver",
            "Comment activer l'application carte Vitale ?",
        ),
        details=(
            "J'ai fait une déclaration de perte au commissariat.",
            "Je dois aller chez le médecin la semaine prochaine.",
            "J'ai déjà envoyé la photo et la pièce d'identité.",
            "La carte a plus de dix ans.",
        ),
        aside=("et ma carte vitale ne marche plus", "au passage j'ai perdu ma carte vitale"),
    ),
    "css": Topic(
        subjects=(
            "Complémentaire santé solidaire",
            "CSS",
            "demande de CSS",
            "renouvellement complémentaire santé",
            "C2S",
            "mutuelle gratuite",
            "CMU complémentaire",
            "dossier CSS",
        ),
        sentences=(
            "Je voudrais faire une demande de complémentaire santé solidaire.",
            "ma complémentaire santé solidaire se termine en {mois}, comment la renouveler ?",
            "Ai-je droit à la CSS avec un revenu de {montant} par mois ?",
            "j'ai envoyé mon dossier de CSS il y a {jours} et pas de nouvelles",
            "Est-ce que la complémentaire santé solidaire est gratuite pour moi ou avec participation ?",
            "Je suis au RSA, puis-je avoir la mutuelle gratuite ?",
            "On m'a refusé la CSS, je ne comprends pas pourquoi.",
            "comment ajouter {proche} à ma complémentaire santé solidaire ?",
            "Je touchais la CMU avant, est-ce la même chose que la C2S ?",
            "La participation de la CSS a été prélevée deux fois ce mois-ci.",
            "quels papiers faut il pour la complementaire sante solidaire",
        ),
        details=(
            "Je suis seule avec deux enfants.",
            "Je viens de perdre mon emploi.",
            "Mes ressources ont baissé depuis {mois}.",
            "Je n'ai pas de mutuelle actuellement.",
        ),
        aside=("et je voudrais savoir si j'ai droit à la CSS", "aussi je voudrais renouveler ma CSS"),
    ),
    "reclamation": Topic(
        subjects=(
            "Réclamation",
            "reclamation",
            "plainte",
            "mécontentement",
            "Contestation",
            "inadmissible",
            "Toujours aucune réponse",
            "recours",
            "erreur de votre part",
            "Je conteste",
        ),
        sentences=(
            "Je tiens à vous faire part de mon profond mécontentement concernant le traitement de mon dossier.",
            "C'est la troisième fois que je vous écris sans aucune réponse, c'est inadmissible.",
            "Je conteste la décision que vous m'avez notifiée le {jour} {mois}.",
            "vous me réclamez {montant} de trop perçu, je conteste cette somme",
            "Je souhaite déposer une réclamation officielle.",
            "L'agent au téléphone a été très désagréable avec moi, je veux que ce soit signalé.",
            "je vais saisir le conciliateur si rien n'est fait",
            "Personne ne répond au téléphone et mes mails restent sans réponse depuis {jours}.",
            "Vous avez commis une erreur sur mon dossier et je veux qu'elle soit corrigée.",
            "Je demande à être recontacté par un responsable, la situation dure depuis {jours}.",
            "je ne suis pas du tout satisfait de la réponse qui m'a été faite",
            "Je forme un recours contre la pénalité qui m'a été appliquée.",
            "Votre service est lamentable, on me renvoie d'un interlocuteur à l'autre.",
        ),
        details=(
            "J'ai déjà appelé cinq fois.",
            "Je me suis déplacé à l'accueil de {ville} pour rien.",
            "Cette situation me met en grande difficulté.",
            "Je garde une copie de tous nos échanges.",
        ),
        aside=("et je ne suis vraiment pas content du service", "je trouve ce délai inadmissible"),
    ),
    "autre": Topic(
        subjects=(
            "Question",
            "renseignement",
            "demande d'information",
            "Information",
            "médecin traitant",
            "horaires",
            "rendez-vous",
            "compte ameli",
            "question diverse",
            "déclaration de grossesse",
        ),
        sentences=(
            "Quels sont les horaires d'ouverture de l'accueil de {ville} ?",
            "Comment déclarer mon médecin traitant ?",
            "je voudrais prendre rendez-vous avec un conseiller",
            "Je n'arrive plus à me connecter à mon compte en ligne, mot de passe oublié.",
            "Comment déclarer ma grossesse ?",
            "Je voudrais savoir comment rattacher {proche} à mon dossier.",
            "Mon père est décédé, quelles démarches dois-je faire auprès de vous ?",
            "Comment obtenir la prise en charge à 100 % pour une affection de longue durée ?",
            "Pouvez-vous me rappeler au {tel} ?",
            "je voudrais savoir comment se passe le bilan de santé gratuit",
            "Quel est mon numéro de sécurité sociale ? Je l'ai perdu.",
            "Est-ce que vous proposez des ateliers de prévention ?",
            "Comment faire pour avoir un transport en taxi conventionné ?",
            "je me marie en {mois}, faut il faire quelque chose pour le nom ?",
            "Merci pour votre aide, tout est réglé.",
        ),
        details=(
            "Je suis nouveau dans la région.",
            "Je n'ai pas trouvé l'information sur le site.",
            "Je suis disponible le matin.",
        ),
        aside=("et j'ai aussi une question sur le médecin traitant", "au fait, quels sont vos horaires ?"),
    ),
    "depot_piece": Topic(
        subjects=(
            "Pièce justificative",
            "envoi de document",
            "documents demandés",
            "pièce jointe",
            "justificatif",
            "Envoi {piece}",
            "Complément de dossier",
            "PJ",
            "pièces manquantes",
            "document",
        ),
        sentences=(
            "Vous trouverez ci-joint {piece} que vous m'avez demandé.",
            "comme demandé je vous envoie {piece}",
            "Veuillez trouver en pièce jointe {piece} pour compléter mon dossier.",
            "Je vous transmets {piece} suite à votre courrier du {jour} {mois}.",
            "voici {piece}, j'espère que c'est lisible",
            "Suite à notre échange téléphonique, je vous fais parvenir {piece}.",
            "Je joins {piece} et {piece} pour mon dossier.",
            "Votre courrier me demandait {piece}, le voici en pièce jointe.",
            "ci joint la pièce manquante : {piece}",
            "Pouvez-vous me confirmer la bonne réception de {piece} que je vous ai envoyé ?",
        ),
        details=(
            "Le document est scanné en PDF.",
            "Je vous l'avais déjà envoyé par courrier.",
            "J'espère que mon dossier est maintenant complet.",
            "La photo n'est pas très nette, dites-moi s'il faut la refaire.",
        ),
        aside=("je vous joins aussi {piece}", "vous trouverez aussi {piece} en pièce jointe"),
    ),
}

EXTRA_SLOTS: dict[str, tuple[str, ...]] = {
    "num": ("3", "12", "27 bis", "45", "8", "102", "6"),
    "rue": (
        "des Lilas",
        "Victor Hugo",
        "de la République",
        "Jean Jaurès",
        "du Moulin",
        "Pasteur",
        "des Écoles",
        "de la Gare",
        "Émile Zola",
        "du Stade",
    ),
    "cp": ("69003", "13005", "59000", "31200", "44100", "35000", "33800", "67000", "57000", "21000"),
    "jour": ("1er", "3", "7", "12", "15", "18", "21", "24", "28", "30"),
    "banque": ("Banque Postale", "Caisse d'Épargne", "BNP", "Société Générale", "LCL", "Crédit Agricole"),
    "iban": ("1234 5678 9012 3456 7890 123", "3000 4000 0500 0012 3456 789", "1027 8060 0000 0202 0001 015"),
    "tel": ("06 12 34 56 78", "07 98 76 54 32", "0612345678", "01 23 45 67 89"),
}

GREETINGS = (
    "Bonjour,",
    "Bonjour",
    "Madame, Monsieur,",
    "Bonjour madame, monsieur,",
    "Bonsoir,",
    "Bjr",
    "Bonjour à vous,",
    "Madame, Monsieur",
    "Salut",
    "Bonjour, ",
    "Bonjour Madame,",
    "Hello,",
    "A l'attention de l'assurance maladie,",
    "",
    "",
    "",
)
INTROS = (
    "Je me permets de vous écrire car",
    "Je vous contacte au sujet de ma situation.",
    "Je suis assurée chez vous.",
    "J'espère que vous allez bien.",
    "Je vous écris de la part de {proche}.",
    "Petite question :",
    "Suite à mon appel de ce matin,",
    "Je reviens vers vous.",
    "",
    "",
    "",
    "",
)
CLOSINGS = (
    "Cordialement",
    "Cordialement,",
    "Merci d'avance",
    "Merci de votre réponse.",
    "Bien à vous",
    "Dans l'attente de votre réponse, cordialement",
    "Bonne journée",
    "Merci beaucoup",
    "Salutations",
    "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.",
    "Merci",
    "cdt",
    "Merci pour votre aide",
    "",
    "",
)
NAMES = (
    "Marie Dupont",
    "J. Martin",
    "Sophie",
    "Karim Benali",
    "Mme Lefebvre",
    "Nathalie R.",
    "Thomas Petit",
    "M. et Mme Moreau",
    "Fatou Diallo",
    "Kevin",
    "Isabelle Garnier",
    "Luc Fontaine",
    "Amina",
    "Jean-Pierre Roux",
)
FOOTERS = (
    "Envoyé de mon iPhone",
    "Envoyé depuis mon smartphone Samsung Galaxy",
    "Tél : {tel}",
    "N° sécu : {nir}",
    "Provenance : Courrier pour Windows",
    "",
    "",
    "",
    "",
    "",
)
CONNECTORS = ("Par ailleurs,", "Autre chose :", "PS :", "Aussi,", "Et", "Au passage,", "Enfin,", "P.S.")
GENERIC_SUBJECTS = (
    "",
    "",
    "",
    "Demande",
    "Question",
    "urgent",
    "Mon dossier",
    "(sans objet)",
    "Bonjour",
    "Demande d'aide",
    "URGENT !!!",
    "Suite",
    "Ma situation",
    "Relance",
    "dossier {nir}",
)
REPLY_PREFIXES = ("RE: ", "Re: ", "TR: ", "Fwd: ", "RE : ", "re: ")
ACKNOWLEDGEMENTS = (
    "Bonjour,\nNous avons bien reçu votre message et nous y répondrons dans les meilleurs délais.\n"
    "Votre référence : {ref}.\nL'assurance maladie",
    "Madame, Monsieur,\nVotre demande a été transmise au service concerné.\nCordialement,\nVotre conseiller",
    "Bonjour,\nPour toute démarche, utilisez la messagerie de votre compte en ligne.\nRéférence {ref}",
)
FOLLOW_UPS = (
    "Toujours pas de réponse ?",
    "Je relance ma demande ci-dessous.",
    "Des nouvelles ?",
    "Je me permets de vous relancer.",
    "Je n'ai toujours rien reçu.",
    "relance svp",
    "???",
    "Pouvez-vous me répondre s'il vous plaît ?",
    "Je renvoie mon message.",
)
ABBREVIATIONS = (
    ("bonjour", "bjr"),
    ("s'il vous plaît", "svp"),
    ("s'il vous plait", "svp"),
    ("pourquoi", "pq"),
    ("beaucoup", "bcp"),
    ("rendez-vous", "rdv"),
    ("aujourd'hui", "auj"),
    ("toujours", "tjrs"),
    ("avec", "avc"),
    ("quand", "qd"),
    ("je suis", "jsuis"),
    ("c'est", "c"),
    ("vous", "vs"),
    ("quelque", "qq"),
    ("merci", "mci"),
    ("que", "ke"),
    ("est-ce que", "est ce ke"),
    ("sécurité sociale", "sécu"),
    ("maintenant", "mtn"),
    ("rien", "r1"),
    ("pour", "pr"),
    ("nouvelle", "nvelle"),
    ("nouveau", "nvo"),
    ("message", "msg"),
    ("cordialement", "cdlt"),
    ("d'accord", "dac"),
    ("tout", "tt"),
    ("beaucoup", "bcp"),
    ("numéro", "n°"),
)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _fill(rng: random.Random, template: str) -> str:
    out = template
    for name, values in (*SLOTS.items(), *EXTRA_SLOTS.items()):
        while "{" + name + "}" in out:
            out = out.replace("{" + name + "}", rng.choice(values), 1)
    if "{nir}" in out:
        out = out.replace("{nir}", f"{rng.choice('12')}{rng.randrange(10**12):012d}")
    if "{ref}" in out:
        out = out.replace("{ref}", f"CPAM-{rng.randrange(10**6):06d}")
    return out


def _typos(rng: random.Random, text: str, rate: float) -> str:
    chars = list(text)
    out: list[str] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        if c.isalpha() and rng.random() < rate:
            kind = rng.randrange(4)
            if kind == 0:  # dropped
                i += 1
                continue
            if kind == 1:  # doubled
                out.extend((c, c))
            elif kind == 2 and i + 1 < len(chars) and chars[i + 1].isalpha():  # swapped
                out.extend((chars[i + 1], c))
                i += 2
                continue
            else:  # a neighbour key
                out.append(rng.choice("azertyuiopqsdfghjklmwxcvbn"))
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _abbreviate(rng: random.Random, text: str) -> str:
    for long, short in ABBREVIATIONS:
        if long in text and rng.random() < 0.6:
            text = text.replace(long, short)
    return text


def _roughen(rng: random.Random, text: str, *, sloppy: bool) -> str:
    if not sloppy:
        return text
    if rng.random() < 0.5:
        text = strip_accents(text)
    if rng.random() < 0.4:
        text = text.lower()
    if rng.random() < 0.35:
        text = _abbreviate(rng, text.lower())
    if rng.random() < 0.5:
        text = _typos(rng, text, rng.choice((0.01, 0.02, 0.04)))
    if rng.random() < 0.2:
        text = text.replace(".", "").replace(",", "").replace("?", " ?")
    return text


def _new_text(rng: random.Random, motive: str, topic: Topic) -> str:
    parts: list[str] = []
    parts.append(_fill(rng, rng.choice(INTROS)))
    core = [_fill(rng, s) for s in rng.sample(topic.sentences, k=rng.choice((1, 1, 1, 2)))]
    if topic.details and rng.random() < 0.5:
        detail = _fill(rng, rng.choice(topic.details))
        core.insert(rng.randrange(len(core) + 1), detail)
    parts.extend(core)
    if rng.random() < 0.22:  # a second, lesser topic: the label stays the main one
        other = rng.choice([m for m in TOPICS if m != motive])
        aside = _fill(rng, rng.choice(TOPICS[other].aside))
        parts.append(f"{rng.choice(CONNECTORS)} {aside}.")
    sep = rng.choice((" ", " ", "\n", "\n\n"))
    return sep.join(p for p in parts if p)


def _envelope(rng: random.Random, text: str) -> str:
    greeting = rng.choice(GREETINGS)
    closing = rng.choice(CLOSINGS)
    name = rng.choice(NAMES) if rng.random() < 0.6 else ""
    footer = _fill(rng, rng.choice(FOOTERS))
    head = f"{greeting}\n\n" if greeting and rng.random() < 0.7 else (f"{greeting} " if greeting else "")
    tail = "\n\n".join(p for p in ("\n".join(p for p in (closing, name) if p), footer) if p)
    return f"{head}{text}\n\n{tail}".strip()


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _wrote_line(rng: random.Random, sender: str) -> str:
    day = f"{rng.choice(EXTRA_SLOTS['jour'])} {rng.choice(SLOTS['mois'])} 2026"
    return rng.choice(
        (
            f"Le {day} à {rng.randrange(8, 19)}:{rng.randrange(60):02d}, {sender} a écrit :",
            f"Le mer. {day}, {sender} a écrit :",
            f"-----Message d'origine-----\nDe : {sender}\nEnvoyé : {day}\nObjet : {{subject}}",
            f"On {day}, {sender} wrote:",
        )
    )


def generate_message(rng: random.Random, motive: str) -> dict[str, str]:
    """One labelled message {"subject", "body", "motive"} about `motive`."""
    topic = TOPICS[motive]
    sloppy = rng.random() < 0.6
    specific_subject = _fill(rng, rng.choice(topic.subjects))
    roll = rng.random()
    if roll < 0.05:  # subject only
        text = _fill(rng, rng.choice(topic.sentences))
        return {"subject": _roughen(rng, text, sloppy=sloppy), "body": "", "motive": motive}
    subject = specific_subject if roll < 0.6 else _fill(rng, rng.choice(GENERIC_SUBJECTS))
    body = _envelope(rng, _roughen(rng, _new_text(rng, motive, topic), sloppy=sloppy))
    if rng.random() < 0.18:  # a reply: new text on top, the earlier mail quoted below
        if rng.random() < 0.5:  # the person's own earlier request, answered by a short follow-up
            earlier, sender = body, "moi"
            body = _envelope(rng, _roughen(rng, rng.choice(FOLLOW_UPS), sloppy=sloppy))
        else:  # the caisse's acknowledgement, answered by the request
            earlier, sender = (
                _fill(rng, rng.choice(ACKNOWLEDGEMENTS)),
                "Assurance Maladie <ne-pas-repondre@ameli.fr>",
            )
        wrote = _wrote_line(rng, sender).replace("{subject}", subject)
        body = f"{body}\n\n{wrote}\n{_quote(earlier)}"
        subject = rng.choice(REPLY_PREFIXES) + subject
    if rng.random() < 0.1:
        subject = subject.upper()
    return {"subject": subject, "body": body, "motive": motive}


def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """`count` labelled messages, the motives in turn (balanced), from one seeded random stream."""
    rng = random.Random(seed)
    codes = motive_codes()
    assert set(codes) == set(TOPICS), "every motive of motives.csv needs a topic, and no other"
    return [generate_message(rng, codes[i % len(codes)]) for i in range(count)]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=TRAIN_PATH)
    args = parser.parse_args(argv)
    rows = generate(args.count, args.seed)
    write_jsonl(rows, args.out)
    print(f"{len(rows):,} messages written to {args.out}")


if __name__ == "__main__":
    main()
